"""`harness migrate up` lints the pending files (once, under the migration lock): `warn` prints
each finding and applies, `fail` stops before anything runs, an applied file is not linted again."""

from __future__ import annotations

import asyncpg

from harness import migrate
from harness.pytest_plugin import Database
from suites.engine.cli.commands import harness
from suites.engine.migrate.histories import HISTORY, WriteMigrations

RISKY = "ALTER TABLE app.users ADD COLUMN age int NOT NULL;\n"


async def versions(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", migrate.VERSION_TABLE)
        rows = await conn.fetch(f"SELECT version FROM {migrate.VERSION_TABLE} ORDER BY 1") if exists else []
        return [r["version"] for r in rows]
    finally:
        await conn.close()


async def test_fail_mode_stops_before_any_pending_migration_runs(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations({**HISTORY, "0004_risky": (RISKY, "SELECT 1;\n")})
    done = harness(
        "migrate", "up", "--dsn", blank_database.dsn, "--dir", str(directory), env={"HARNESS_SQUAWK": "fail"}
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "0004_risky.up.sql:1: adding-required-field" in done.stderr
    assert await versions(blank_database.dsn) == []


async def test_warn_mode_names_the_pending_files_findings_and_applies_them(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations({"0001_users": HISTORY["0001_users"], "0002_risky": (RISKY, "SELECT 1;\n")})
    await migrate.apply_migrations(blank_database.dsn, directory, to=1)
    (directory / "0003_risky_again.up.sql").write_text(RISKY.replace("age", "height"))
    (directory / "0003_risky_again.down.sql").write_text("SELECT 1;\n")
    await migrate.apply_migrations(blank_database.dsn, directory, to=2)
    done = harness(
        "migrate", "up", "--dsn", blank_database.dsn, "--dir", str(directory), env={"HARNESS_SQUAWK": "warn"}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "squawk: " in done.stderr
    assert "0003_risky_again.up.sql:1: adding-required-field" in done.stderr
    assert "0002_risky" not in done.stderr  # applied before: not linted again
    assert "applied 1 migration(s)" in done.stdout
    assert await versions(blank_database.dsn) == [1, 2, 3]
