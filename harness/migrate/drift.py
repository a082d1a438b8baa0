"""`drift`: a live database against its own migrations. The version table alone cannot show a
column added by hand or an index dropped by hand; here the applied migrations are built into a
scratch database on the same server and both catalogs compared with `verify`'s snapshot. `status`
ends with a one-line summary of the same comparison."""

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


async def summarise_drift(dsn: str, migrations: Sequence[Migration]) -> str:
    """`status`'s line about drift: none, some (which `drift` names), or why it was not checked (no
    migration applied, an applied file edited or missing, a login that may not create the scratch
    database or build the migrations there). Never an error: status has listed the migrations."""
    try:
        applied, differences = await find_drift(dsn, migrations)
    except asyncpg.InsufficientPrivilegeError as exc:
        return f"drift: not checked ({exc.message}: this login may not build the scratch database; --no-drift skips it)"
    except MigrationError as exc:
        return f"drift: not checked ({exc})"
    except asyncpg.PostgresError as exc:
        return f"drift: not checked ({type(exc).__name__}: {exc})"
    if not differences:
        return f"drift: none (the catalog is what its {applied} applied migrations make)"
    return (
        f"drift: the catalog differs from its {applied} applied migrations built afresh "
        "(`harness migrate drift` names each difference)"
    )
