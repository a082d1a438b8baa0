"""`harness migrate drift`: a database changed by hand is told from its migrations, each
difference named; an untouched one (the BetterPrompts schema, on a server where its roles already
exist) has none."""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncpg
import pytest

from harness.config import Settings
from harness.pytest_plugin import Database
from suites.engine.cli.commands import harness
from suites.engine.migrate.histories import WriteMigrations


@pytest.mark.fresh_database
def test_the_migrated_database_untouched_has_no_drift(fresh_database: Database, harness_settings: Settings) -> None:
    done = harness("migrate", "drift", "--dsn", fresh_database.dsn, "--dir", str(harness_settings.migrations_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    applied = len(list(harness_settings.migrations_dir.glob("*.up.sql")))
    assert done.stdout.startswith(f"no drift: the catalog is what its {applied} applied migrations make")


@pytest.mark.fresh_database
async def test_a_column_added_and_an_index_dropped_by_hand_are_named(
    fresh_database: Database, harness_settings: Settings
) -> None:
    conn = await asyncpg.connect(fresh_database.dsn)
    try:
        await conn.execute("ALTER TABLE auth.users ADD COLUMN nickname text")
        await conn.execute("DROP INDEX prompts.embeddings_embedding_hnsw_idx")
    finally:
        await conn.close()
    done = harness("migrate", "drift", "--dsn", fresh_database.dsn, "--dir", str(harness_settings.migrations_dir))
    assert done.returncode == 1, done.stdout + done.stderr
    applied = len(list(harness_settings.migrations_dir.glob("*.up.sql")))
    assert f"drift: the database differs from its {applied} applied migrations built afresh" in done.stdout
    assert "columns: + auth.users.nickname #" in done.stdout
    assert "indexes: - CREATE INDEX embeddings_embedding_hnsw_idx ON prompts.embeddings USING hnsw" in done.stdout


@pytest.mark.fresh_database
def test_an_edited_applied_migration_is_one_line_not_a_comparison(
    fresh_database: Database, harness_settings: Settings, tmp_path: Path
) -> None:
    edited = tmp_path / "migrations"
    edited.mkdir()
    for path in harness_settings.migrations_dir.iterdir():
        (edited / path.name).write_text(path.read_text())
    first = sorted(edited.glob("*.up.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    done = harness("migrate", "drift", "--dsn", fresh_database.dsn, "--dir", str(edited))
    assert done.returncode != 0
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {first} has changed since it was applied")


def test_a_database_without_migrations_is_one_line(blank_database: Database, harness_settings: Settings) -> None:
    done = harness("migrate", "drift", "--dsn", blank_database.dsn, "--dir", str(harness_settings.migrations_dir))
    assert done.returncode != 0
    [line] = done.stderr.strip().splitlines()
    assert "no migration is applied here: run `harness migrate up` first" in line


PARTITIONED = {
    "0001_events": (
        "CREATE TABLE events (at date NOT NULL, body text) PARTITION BY RANGE (at);\n"
        "CREATE TABLE events_2030_01 PARTITION OF events FOR VALUES FROM ('2030-01-01') TO ('2030-02-01');\n",
        "DROP TABLE events;\n",
    )
}


async def drift_after(database: Database, directory: Path, by_hand: str) -> subprocess.CompletedProcess[str]:
    """`harness migrate drift` on `database` migrated from `directory`, then changed by `by_hand`."""
    assert harness("migrate", "up", "--dsn", database.dsn, "--dir", str(directory)).returncode == 0
    conn = await asyncpg.connect(database.dsn)
    try:
        await conn.execute(by_hand)
    finally:
        await conn.close()
    return harness("migrate", "drift", "--dsn", database.dsn, "--dir", str(directory))


async def test_a_partition_made_at_runtime_is_set_aside_and_named_not_drift(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    monthly_job = "CREATE TABLE events_2030_02 PARTITION OF events FOR VALUES FROM ('2030-02-01') TO ('2030-03-01')"
    done = await drift_after(blank_database, write_migrations(PARTITIONED), monthly_job)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("no drift: the catalog is what its 1 applied migrations make")
    assert "set aside: 1 partition(s) only one side has" in done.stdout
    assert "public.events_2030_02" in done.stdout


async def test_a_partition_both_sides_have_is_compared_like_any_table(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    done = await drift_after(
        blank_database, write_migrations(PARTITIONED), "CREATE INDEX by_hand ON events_2030_01 (body)"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "indexes: + CREATE INDEX by_hand ON public.events_2030_01" in done.stdout
    assert "set aside" not in done.stdout
