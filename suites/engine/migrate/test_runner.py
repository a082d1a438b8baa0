"""The migration runner against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import pytest

from harness import migrate
from harness.errors import ChecksumMismatch, MigrationError, MigrationFailed, MigrationFileError
from harness.migrate.runner import LOCK_KEY
from harness.pytest_plugin import Database
from suites.engine.migrate.histories import HISTORY, POSTS_EDITED, WriteMigrations, fetch


async def execute(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def test_up_applies_every_migration_in_order_and_records_it(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations(HISTORY)
    steps = await migrate.apply_migrations(blank_database.dsn, directory)
    assert [s.migration.label for s in steps] == ["0001_users", "0002_posts", "0003_touch"]
    rows = await fetch(blank_database.dsn, f"SELECT * FROM {migrate.VERSION_TABLE} ORDER BY version")
    assert [(r["version"], r["name"]) for r in rows] == [(1, "users"), (2, "posts"), (3, "touch")]
    files = migrate.load_migrations(directory)
    assert [r["sha256"] for r in rows] == [m.sha256 for m in files]
    assert all(r["duration_ms"] >= 0 and r["applied_at"] is not None for r in rows)
    assert await migrate.apply_migrations(blank_database.dsn, directory) == []


async def test_up_to_a_version_stops_there_and_status_shows_the_rest_pending(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations(HISTORY)
    await migrate.apply_migrations(blank_database.dsn, directory, to=2)
    status = await migrate.migration_status(blank_database.dsn, directory)
    assert [(s.version, s.state) for s in status] == [(1, "applied"), (2, "applied"), (3, "pending")]


async def test_down_by_steps_and_to_a_version_reverses_and_forgets(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations(HISTORY)
    await migrate.apply_migrations(blank_database.dsn, directory)
    undone = await migrate.rollback_migrations(blank_database.dsn, directory, steps=1)
    assert [s.migration.version for s in undone] == [3]
    undone = await migrate.rollback_migrations(blank_database.dsn, directory, to=0)
    assert [s.migration.version for s in undone] == [2, 1]
    assert await fetch(blank_database.dsn, "SELECT 1 FROM pg_namespace WHERE nspname = 'app'") == []
    assert await fetch(blank_database.dsn, f"SELECT * FROM {migrate.VERSION_TABLE}") == []


async def test_down_requires_exactly_one_target(blank_database: Database, write_migrations: WriteMigrations) -> None:
    directory = write_migrations(HISTORY)
    with pytest.raises(MigrationError, match="exactly one"):
        await migrate.rollback_migrations(blank_database.dsn, directory)


async def test_failing_migration_names_file_and_line_and_leaves_nothing_applied(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    broken = "CREATE TABLE app.tags (id int PRIMARY KEY);\n\nCREATE INDEX tags_bad ON app.tags (no_such_column);\n"
    directory = write_migrations({**HISTORY, "0004_tags": (broken, "DROP TABLE app.tags;\n")})
    with pytest.raises(MigrationFailed) as failure:
        await migrate.apply_migrations(blank_database.dsn, directory)
    assert failure.value.path.endswith("0004_tags.up.sql")
    assert failure.value.line == 3
    assert 'column "no_such_column" does not exist' in failure.value.message
    assert await fetch(blank_database.dsn, "SELECT to_regclass('app.tags') AS t") == [(None,)]
    rows = await fetch(blank_database.dsn, f"SELECT version FROM {migrate.VERSION_TABLE} ORDER BY version")
    assert [r["version"] for r in rows] == [1, 2, 3]


async def test_an_applied_migration_whose_file_changed_is_refused_by_name(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations(HISTORY)
    await migrate.apply_migrations(blank_database.dsn, directory, to=2)
    (directory / "0002_posts.up.sql").write_text(POSTS_EDITED)
    with pytest.raises(ChecksumMismatch, match=r"0002_posts\.up\.sql has changed"):
        await migrate.apply_migrations(blank_database.dsn, directory)
    status = await migrate.migration_status(blank_database.dsn, directory)
    assert [s.state for s in status] == ["applied", "changed", "pending"]


async def test_a_migration_older_than_the_newest_applied_is_refused(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations({"0001_users": HISTORY["0001_users"], "0003_touch_later": ("SELECT 1;", "SELECT 1;")})
    await migrate.apply_migrations(blank_database.dsn, directory)
    write_migrations({"0002_posts": HISTORY["0002_posts"]})
    with pytest.raises(MigrationError, match=r"0002_posts\.up\.sql is older than the newest applied version 3"):
        await migrate.apply_migrations(blank_database.dsn, directory)


async def test_no_transaction_migration_runs_statement_by_statement(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    concurrent = (
        "-- harness:no-transaction\nCREATE INDEX CONCURRENTLY posts_body_idx ON app.posts (body);\n"
        "CREATE INDEX CONCURRENTLY users_email_lower_idx ON app.users (lower(email));\n"
    )
    drop = (
        "-- harness:no-transaction\nDROP INDEX CONCURRENTLY app.posts_body_idx;\n"
        "DROP INDEX CONCURRENTLY app.users_email_lower_idx;\n"
    )
    directory = write_migrations({**HISTORY, "0004_concurrent": (concurrent, drop)})
    await migrate.apply_migrations(blank_database.dsn, directory)
    rows = await fetch(blank_database.dsn, "SELECT indexrelid::regclass::text AS i FROM pg_index WHERE indisvalid")
    assert {"app.posts_body_idx", "app.users_email_lower_idx"} <= {r["i"] for r in rows}
    await migrate.rollback_migrations(blank_database.dsn, directory, steps=1)
    rows = await fetch(blank_database.dsn, "SELECT to_regclass('app.posts_body_idx') AS i")
    assert rows == [(None,)]


async def test_failing_statement_of_a_no_transaction_migration_is_located(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    concurrent = "-- harness:no-transaction\nSELECT 1;\n\nCREATE INDEX CONCURRENTLY bad ON app.posts (nope);\n"
    directory = write_migrations({**HISTORY, "0004_concurrent": (concurrent, "SELECT 1;\n")})
    with pytest.raises(MigrationFailed) as failure:
        await migrate.apply_migrations(blank_database.dsn, directory)
    assert failure.value.line == 4
    assert "earlier statements" in failure.value.message
    assert [s.state for s in await migrate.migration_status(blank_database.dsn, directory)][-1] == "pending"


async def test_dry_run_plans_without_touching_the_database(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations(HISTORY)
    steps = await migrate.plan(blank_database.dsn, directory, "up")
    assert [s.script.sql for s in steps] == [HISTORY[label][0] for label in HISTORY]
    assert await fetch(blank_database.dsn, "SELECT to_regclass('harness.schema_migrations') AS t") == [(None,)]


def test_files_must_be_paired_and_well_named(write_migrations: WriteMigrations) -> None:
    directory = write_migrations(HISTORY)
    (directory / "0003_touch.down.sql").unlink()
    with pytest.raises(MigrationFileError, match=r"0003_touch\.down\.sql is missing"):
        migrate.load_migrations(directory)
    (directory / "3_Bad Name.up.sql").write_text("")
    with pytest.raises(MigrationFileError, match="not named NNNN_name"):
        migrate.load_migrations(directory)


def test_generate_creates_the_next_numbered_pair(write_migrations: WriteMigrations) -> None:
    directory = write_migrations(HISTORY)
    up, down = migrate.generate_migration(directory, "Add tags table")
    assert (up.name, down.name) == ("0004_add_tags_table.up.sql", "0004_add_tags_table.down.sql")
    assert [m.version for m in migrate.load_migrations(directory)] == [1, 2, 3, 4]


async def test_eight_concurrent_runners_apply_each_migration_exactly_once(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    once = "CREATE TABLE app.applied_once (n int);\nINSERT INTO app.applied_once VALUES (1);\n"
    directory = write_migrations({**HISTORY, "0004_once": (once, "DROP TABLE app.applied_once;\n")})
    runners = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "harness",
            "migrate",
            "up",
            "--dsn",
            blank_database.dsn,
            "--dir",
            str(directory),
            env={"HARNESS_SQUAWK": "off", "PATH": ""},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(8)
    ]
    outputs = [(await r.communicate())[0].decode() for r in runners]
    assert [r.returncode for r in runners] == [0] * 8, outputs
    assert sum("applied 4 migration(s)" in o for o in outputs) + sum("applied 0" in o for o in outputs) == 8
    assert await fetch(blank_database.dsn, "SELECT count(*) FROM app.applied_once") == [(1,)]
    rows = await fetch(blank_database.dsn, f"SELECT count(*) FROM {migrate.VERSION_TABLE}")
    assert rows == [(4,)]


def test_runner_outside_a_repository_needs_a_dsn(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "harness", "migrate", "status", "--dir", str(tmp_path)],
        capture_output=True, text=True, env={"PATH": ""}, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "TEST_DATABASE_URL" in result.stderr


CONCURRENT_INDEX = (
    "-- harness:no-transaction\nCREATE INDEX CONCURRENTLY posts_body_idx ON app.posts (body);\n",
    "-- harness:no-transaction\nDROP INDEX CONCURRENTLY app.posts_body_idx;\n",
)


async def test_eight_runners_at_once_never_deadlock_on_a_concurrent_index_build(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    """Runners waiting for the lock hold no snapshot, so the build that waits out every older
    snapshot never waits for them: 20 rounds of eight runners, each migration applied once."""
    directory = write_migrations({**HISTORY, "0004_concurrent": CONCURRENT_INDEX})
    for round_number in range(20):
        results = await asyncio.gather(
            *(migrate.apply_migrations(blank_database.dsn, directory) for _ in range(8)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert failures == [], f"round {round_number}: {failures}"
        assert sorted(len(r) for r in results if isinstance(r, list)) == [0] * 7 + [4]
        valid = await fetch(
            blank_database.dsn, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.posts_body_idx'::regclass"
        )
        assert valid == [(True,)]
        assert await fetch(blank_database.dsn, f"SELECT count(*) FROM {migrate.VERSION_TABLE}") == [(4,)]
        await migrate.rollback_migrations(blank_database.dsn, directory, to=0)


async def test_a_runner_kept_waiting_gives_up_naming_who_holds_the_lock(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations(HISTORY)
    holder = await asyncpg.connect(blank_database.dsn, server_settings={"application_name": "deploy-42"})
    try:
        await holder.execute("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
        with pytest.raises(
            MigrationError,
            match=rf"waited 0.3 s for the migration lock: held by pid {holder.get_server_pid()} \(deploy-42",
        ):
            await migrate.apply_migrations(blank_database.dsn, directory, lock_wait=0.3)
        assert await fetch(blank_database.dsn, "SELECT to_regclass('app.users') AS t") == [(None,)]
    finally:
        await holder.close()
    assert len(await migrate.apply_migrations(blank_database.dsn, directory, lock_wait=0.3)) == 3


async def test_an_invalid_index_left_by_a_failed_concurrent_build_is_named_and_dropped_on_request(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    unique = (
        "-- harness:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY posts_body_key ON app.posts (body);\n",
        "-- harness:no-transaction\nDROP INDEX CONCURRENTLY app.posts_body_key;\n",
    )
    directory = write_migrations({**HISTORY, "0004_unique_body": unique})
    await migrate.apply_migrations(blank_database.dsn, directory, to=3)
    await execute(blank_database.dsn, "INSERT INTO app.users (email) VALUES ('a')")
    await execute(
        blank_database.dsn, "INSERT INTO app.posts (user_id, body) SELECT 1, 'same' FROM generate_series(1, 2)"
    )
    with pytest.raises(MigrationFailed, match="UniqueViolationError"):
        await migrate.apply_migrations(blank_database.dsn, directory)
    await execute(blank_database.dsn, "DELETE FROM app.posts WHERE id = 2")

    with pytest.raises(MigrationError, match=r"INVALID index\(es\) app.posts_body_key, .*--drop-invalid"):
        await migrate.apply_migrations(blank_database.dsn, directory)
    steps = await migrate.apply_migrations(blank_database.dsn, directory, drop_invalid=True)
    assert [s.migration.label for s in steps] == ["0004_unique_body"]
    valid = await fetch(
        blank_database.dsn, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.posts_body_key'::regclass"
    )
    assert valid == [(True,)]


async def test_a_no_transaction_migration_is_split_as_the_server_reads_it(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    """E'' escapes, dollar quotes and nested comments hide semicolons from the splitter, as from
    the server (a hand-written splitter ended E'it\\'s; x' at the escaped quote)."""
    tricky = (
        "-- harness:no-transaction\n"
        "INSERT INTO app.users (email) VALUES (E'it\\'s; x');\n"
        "/* outer /* inner; */ still a comment; */\n"
        "INSERT INTO app.users (email) VALUES ($q$a;b$q$);\n"
        "CREATE INDEX CONCURRENTLY users_email_lower_idx ON app.users (lower(email));\n"
    )
    directory = write_migrations({**HISTORY, "0004_tricky": (tricky, "DELETE FROM app.users;\n")})
    await migrate.apply_migrations(blank_database.dsn, directory)
    rows = await fetch(blank_database.dsn, "SELECT email FROM app.users ORDER BY id")
    assert [r["email"] for r in rows] == ["it's; x", "a;b"]
