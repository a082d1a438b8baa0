"""`drift`: a live database against its own migrations. `status` only reads the version table, so
a column added by hand or an index dropped by hand goes unnoticed; here the applied migrations are
built into a scratch database on the same server and both catalogs compared with `verify`'s
snapshot."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import asyncpg

from harness.errors import MigrationError
from harness.migrate.catalog import describe_difference, named_roles, take_snapshot
from harness.migrate.files import Migration
from harness.migrate.runner import MigrationRunner
from harness.migrate.verify import scratch_database

DRIFT_LIMIT = 200  # differences named before "… and N more"


async def find_drift(dsn: str, migrations: Sequence[Migration]) -> tuple[int, list[str]]:
    """(how many migrations the database has applied, a line per difference: `- expected` that the
    database lacks, `+ found` that the migrations do not make). An applied migration whose file is
    missing or was edited is an error: the comparison would mean nothing."""
    live = await asyncpg.connect(dsn)
    try:
        runner = MigrationRunner(live, migrations)
        applied = await runner.applied()
        runner.check_applied(applied)  # a missing or edited applied migration is an error
        actual = await take_snapshot(live, named_roles(migrations))
    finally:
        await live.close()
    if not applied:
        raise MigrationError("no migration is applied here: run `harness migrate up` first (or check --dsn)")
    async with scratch_database(dsn, f"hx_drift_{secrets.token_hex(4)}") as built:
        await MigrationRunner(built, [m for m in migrations if m.version in applied]).up()
        expected = await take_snapshot(built, named_roles(migrations))
    return len(applied), describe_difference(expected, actual, DRIFT_LIMIT)
