"""The migration runner's public API: the CLI and the pytest plugin are thin layers over it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from harness.defaults import MIGRATE_LOCK_WAIT
from harness.migrate.files import Migration, generate_migration, load_migrations
from harness.migrate.runner import APPLICATION_NAME, VERSION_TABLE, MigrationRunner, MigrationStatus, Step

if TYPE_CHECKING:
    from harness.migrate.catalog import Snapshot, take_snapshot
    from harness.migrate.down_lint import lint_downs
    from harness.migrate.lint import Finding, enforce, lint_migrations, pending_check
    from harness.migrate.rehearse import Rehearsal, rehearse_migrations, starting_version
    from harness.migrate.verify import verify_migrations

# Imported when first asked for: applying migrations (every test run's template) needs none of them.
LAZY = {
    "Snapshot": "catalog", "take_snapshot": "catalog", "lint_downs": "down_lint", "Finding": "lint",
    "enforce": "lint", "lint_migrations": "lint", "pending_check": "lint", "Rehearsal": "rehearse",
    "rehearse_migrations": "rehearse", "starting_version": "rehearse", "verify_migrations": "verify",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{LAZY[name]}"), name)


__all__ = [
    "VERSION_TABLE", "Finding", "Migration", "MigrationRunner", "MigrationStatus", "Rehearsal", "Snapshot", "Step",
    "apply_migrations", "enforce", "generate_migration", "lint_downs", "lint_migrations", "load_migrations",
    "migration_status", "pending_check", "plan", "rehearse_migrations", "rollback_migrations", "starting_version",
    "take_snapshot", "verify_migrations",
]  # fmt: skip


async def connect(dsn: str) -> asyncpg.Connection:
    """A runner's session, named so that a runner kept waiting can say who holds the lock."""
    return await asyncpg.connect(dsn, server_settings={"application_name": APPLICATION_NAME})


async def apply_migrations(
    dsn: str,
    directory: Path,
    to: int | None = None,
    *,
    lock_wait: float = MIGRATE_LOCK_WAIT,
    drop_invalid: bool = False,
    lint: Callable[[list[Migration]], object] | None = None,
) -> list[Step]:
    """Apply the pending migrations (up to `to`); `lint` sees them first, under the lock, and may
    raise to stop before any runs (squawk's: `pending_check`)."""
    migrations = load_migrations(directory)  # a bad directory fails before any connection
    conn = await connect(dsn)
    try:
        return await MigrationRunner(conn, migrations, lock_wait).up(to, drop_invalid, lint)
    finally:
        await conn.close()


async def rollback_migrations(
    dsn: str, directory: Path, to: int | None = None, steps: int | None = None, *, lock_wait: float = MIGRATE_LOCK_WAIT
) -> list[Step]:
    migrations = load_migrations(directory)
    conn = await connect(dsn)
    try:
        return await MigrationRunner(conn, migrations, lock_wait).down(to, steps)
    finally:
        await conn.close()


async def plan(
    dsn: str, directory: Path, direction: str, to: int | None = None, steps: int | None = None
) -> list[Step]:
    """What `up`/`down` would run, without running or creating anything (for --dry-run)."""
    migrations = load_migrations(directory)
    conn = await connect(dsn)
    try:
        runner = MigrationRunner(conn, migrations)
        applied = await runner.applied()
        return runner.plan_up(applied, to) if direction == "up" else runner.plan_down(applied, to, steps)
    finally:
        await conn.close()


async def migration_status(dsn: str, directory: Path) -> list[MigrationStatus]:
    migrations = load_migrations(directory)
    conn = await connect(dsn)
    try:
        return await MigrationRunner(conn, migrations).status()
    finally:
        await conn.close()
