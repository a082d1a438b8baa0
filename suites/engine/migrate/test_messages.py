"""Pending transactional migrations travel in one message, yet each keeps its own transaction with
its version row: what commits, what a failure leaves, where it is reported, what each row records."""

from __future__ import annotations

import pytest

from harness import migrate
from harness.errors import MigrationFailed
from harness.pytest_plugin import Database
from suites.engine.migrate.histories import HISTORY, WriteMigrations, fetch

UNDO = "SELECT 1;\n"


async def versions(dsn: str) -> list[int]:
    return [r["version"] for r in await fetch(dsn, f"SELECT version FROM {migrate.VERSION_TABLE} ORDER BY version")]


async def test_a_value_added_to_an_enum_is_usable_by_the_next_migration(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    """A new enum value cannot be used before its transaction commits: each migration commits
    before the next one runs, even in one message."""
    directory = write_migrations({
        "0001_mood": ("CREATE TYPE mood AS ENUM ('calm');\nCREATE TABLE moods (m mood);\n", UNDO),
        "0002_add_value": ("ALTER TYPE mood ADD VALUE 'glad';\n", UNDO),
        "0003_use_value": ("INSERT INTO moods VALUES ('glad');\n", UNDO),
    })  # fmt: skip
    assert len(await migrate.apply_migrations(blank_database.dsn, directory)) == 3
    assert await fetch(blank_database.dsn, "SELECT m::text FROM moods") == [("glad",)]
    assert await versions(blank_database.dsn) == [1, 2, 3]


async def test_a_failure_keeps_the_migrations_before_it_and_nothing_of_its_own(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    failing = "CREATE TABLE app.half (id int);\nSELECT 1 / 0;\n"
    directory = write_migrations({**HISTORY, "0004_fails": (failing, UNDO), "0005_after": ("SELECT 1;\n", UNDO)})
    with pytest.raises(MigrationFailed) as failure:
        await migrate.apply_migrations(blank_database.dsn, directory)
    assert failure.value.path.endswith("0004_fails.up.sql")
    assert failure.value.line == 2
    assert "division by zero" in failure.value.message
    assert await versions(blank_database.dsn) == [1, 2, 3]
    assert await fetch(blank_database.dsn, "SELECT to_regclass('app.half') AS t") == [(None,)]


async def test_a_syntax_error_is_reported_for_its_own_file_and_the_migrations_before_it_applied(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    """The server parses a whole message before running any of it, so a syntax error in the third
    migration stops the first two as well; they then run alone and commit, and the third fails alone."""
    broken = "CREATE TABLE app.tags (id int);\nCREATE TABEL app.oops (id int);\n"
    directory = write_migrations({**HISTORY, "0004_broken": (broken, UNDO)})
    with pytest.raises(MigrationFailed) as failure:
        await migrate.apply_migrations(blank_database.dsn, directory)
    assert failure.value.path.endswith("0004_broken.up.sql")
    assert failure.value.line == 2
    assert "syntax error" in failure.value.message
    assert await versions(blank_database.dsn) == [1, 2, 3]


async def test_each_version_row_records_its_own_start_and_duration(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations({
        "0001_first": ("SELECT 1;\n", UNDO),
        "0002_slow": ("SELECT pg_sleep(0.05);\n", UNDO),
        "0003_after": ("SELECT 1;\n", UNDO),
    })  # fmt: skip
    await migrate.apply_migrations(blank_database.dsn, directory)
    rows = await fetch(
        blank_database.dsn, f"SELECT version, applied_at, duration_ms FROM {migrate.VERSION_TABLE} ORDER BY version"
    )
    first, slow, after = rows
    assert slow["duration_ms"] >= 50
    assert first["applied_at"] <= slow["applied_at"]
    assert (after["applied_at"] - slow["applied_at"]).total_seconds() * 1000 >= 50
    assert all(r["duration_ms"] >= 0 for r in rows)


async def test_a_script_ending_in_a_comment_without_a_semicolon_runs_and_is_recorded(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations({
        "0001_bare": ("CREATE TABLE bare (id int) -- no semicolon, no newline", UNDO),
        "0002_next": ("INSERT INTO bare VALUES (1)", UNDO),
    })  # fmt: skip
    await migrate.apply_migrations(blank_database.dsn, directory)
    assert await fetch(blank_database.dsn, "SELECT id FROM bare") == [(1,)]
    assert await versions(blank_database.dsn) == [1, 2]


async def test_a_no_transaction_migration_between_transactional_ones_runs_alone_in_order(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    concurrent = "-- harness:no-transaction\nCREATE INDEX CONCURRENTLY posts_body_idx ON app.posts (body);\n"
    after = "CREATE TABLE app.after_index (id int);\n"
    directory = write_migrations({**HISTORY, "0004_concurrent": (concurrent, UNDO), "0005_after": (after, UNDO)})
    steps = await migrate.apply_migrations(blank_database.dsn, directory)
    assert [s.migration.version for s in steps] == [1, 2, 3, 4, 5]
    assert await versions(blank_database.dsn) == [1, 2, 3, 4, 5]
    undone = await migrate.rollback_migrations(blank_database.dsn, directory, to=3)
    assert [s.migration.version for s in undone] == [5, 4]
    assert await versions(blank_database.dsn) == [1, 2, 3]
