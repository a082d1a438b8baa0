"""`verify`: prove, on a scratch database, that every down exactly reverses its up."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Sequence

import asyncpg

from harness.errors import VerificationFailed
from harness.migrate.catalog import Snapshot, describe_difference, named_roles, take_snapshot
from harness.migrate.data_loss import DataCheck
from harness.migrate.files import Migration
from harness.migrate.runner import MigrationRunner
from harness.provision.databases import create_database, drop_database
from harness.provision.endpoints import with_database


async def verify_migrations(
    dsn: str, migrations: Sequence[Migration], scratch: str | None = None, *, with_data: bool = False
) -> list[str]:
    """At each step: up, snapshot, down (must equal before), up again (must equal after up);
    then a full down must leave the database as it was. `with_data` also fills the tables with
    generated rows and requires each down to keep them (`data_loss`). Runs in database `scratch`
    (created and dropped here) on the server of `dsn`. Returns a line per checked step."""
    async with scratch_database(dsn, scratch or f"hx_verify_{secrets.token_hex(4)}") as conn:
        return await _verify(conn, migrations, DataCheck(conn) if with_data else None)


@contextlib.asynccontextmanager
async def scratch_database(dsn: str, name: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to an empty database `name` on the server of `dsn`, dropped afterwards."""
    admin = await asyncpg.connect(dsn)
    try:
        await create_database(admin, name)
        conn = await asyncpg.connect(with_database(dsn, name))
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        await drop_database(admin, name)
        await admin.close()


async def _verify(conn: asyncpg.Connection, migrations: Sequence[Migration], data: DataCheck | None) -> list[str]:
    report: list[str] = []
    roles = named_roles(migrations)

    async def snapshot() -> Snapshot:
        return await take_snapshot(conn, roles)

    empty = before = await snapshot()
    for m in migrations:
        runner = MigrationRunner(conn, [x for x in migrations if x.version <= m.version])
        if data is not None:
            await data.seed_before_up()
        await runner.up(to=m.version)
        after_up = await snapshot()
        await runner.down(steps=1)
        _require_equal(before, await snapshot(), f"{m.down.path} does not exactly reverse {m.up.path}")
        if data is not None:
            await data.after_down(m)
        await runner.up(to=m.version)
        _require_equal(after_up, await snapshot(), f"{m.up.path} applied again after its down differs")
        report.append(f"{m.label}: up → down → up leaves the catalog identical")
        if data is not None:
            report.append(await data.round_trip(m, runner))
        before = after_up  # what the next step's down must come back to
    runner = MigrationRunner(conn, migrations)
    await runner.down(to=0)
    _require_equal(empty, await snapshot(), "a full down leaves objects behind")
    report.append("full down: no object left behind")
    if data is not None:
        report += data.summary()
        if data.losses:
            raise VerificationFailed("downs lose data:\n" + "\n".join(f"  {line}" for line in data.losses))
    return report


def _require_equal(expected: Snapshot, actual: Snapshot, what: str) -> None:
    difference = describe_difference(expected, actual)
    if difference:
        raise VerificationFailed(what + ":\n" + "\n".join(difference))
