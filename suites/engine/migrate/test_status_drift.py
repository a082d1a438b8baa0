"""`harness migrate status` ends with a line on drift: none, a difference (which `drift` names), or
why it was not checked, such as a login that may not create the scratch database; `--no-drift`
leaves it out. The exit status stays 0 either way."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest_asyncio

from harness import migrate
from harness.pytest_plugin import Database
from suites.engine.cli.commands import harness
from suites.engine.migrate.histories import HISTORY, WriteMigrations


async def execute(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def status(dsn: str, directory: Path, *options: str) -> list[str]:
    done = harness("migrate", "status", "--dsn", dsn, "--dir", str(directory), *options)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def states(lines: list[str]) -> list[str]:
    """The state column of the table's rows."""
    return [cells[3].strip() for line in lines if len(cells := line.split("│")) > 4]


@pytest_asyncio.fixture
async def migrated(blank_database: Database, write_migrations: WriteMigrations) -> Path:
    directory = write_migrations(HISTORY)
    await migrate.apply_migrations(blank_database.dsn, directory)
    return directory


async def test_an_untouched_database_has_no_drift(blank_database: Database, migrated: Path) -> None:
    lines = status(blank_database.dsn, migrated)
    assert states(lines) == ["applied"] * 3
    assert lines[-1] == "drift: none (the catalog is what its 3 applied migrations make)"


async def test_a_column_added_by_hand_is_drift_and_drift_names_it(blank_database: Database, migrated: Path) -> None:
    await execute(blank_database.dsn, "ALTER TABLE app.users ADD COLUMN nickname text")
    lines = status(blank_database.dsn, migrated)
    assert lines[-1] == (
        "drift: the catalog differs from its 3 applied migrations built afresh "
        "(`harness migrate drift` names each difference)"
    )
    done = harness("migrate", "drift", "--dsn", blank_database.dsn, "--dir", str(migrated))
    assert "columns: + app.users.nickname" in done.stdout


async def test_no_drift_leaves_the_line_out(blank_database: Database, migrated: Path) -> None:
    await execute(blank_database.dsn, "ALTER TABLE app.users ADD COLUMN nickname text")
    lines = status(blank_database.dsn, migrated, "--no-drift")
    assert not [line for line in lines if line.startswith("drift:")]


async def test_a_database_without_migrations_says_why_drift_was_not_checked(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    lines = status(blank_database.dsn, write_migrations(HISTORY))
    assert states(lines) == ["pending"] * 3
    assert lines[-1].startswith("drift: not checked (no migration is applied here")


@pytest_asyncio.fixture
async def login_without_createdb(blank_database: Database, migrated: Path) -> AsyncIterator[str]:
    """A login that may read the version table but not create databases: its DSN."""
    role, password = f"hx_status_{secrets.token_hex(4)}", secrets.token_hex(8)
    await execute(
        blank_database.dsn,
        f"CREATE ROLE {role} LOGIN NOCREATEDB PASSWORD '{password}'",
        f"GRANT USAGE ON SCHEMA harness TO {role}",
        f"GRANT SELECT ON {migrate.VERSION_TABLE} TO {role}",
    )
    parts = urlsplit(blank_database.dsn)
    yield urlunsplit(parts._replace(netloc=f"{role}:{password}@{parts.hostname}:{parts.port}"))
    await execute(blank_database.dsn, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


async def test_a_login_that_may_not_create_databases_lists_the_migrations_and_says_why(
    login_without_createdb: str, migrated: Path
) -> None:
    lines = status(login_without_createdb, migrated)
    assert states(lines) == ["applied"] * 3
    assert lines[-1].startswith("drift: not checked (permission denied to create database: this login may not build")
