"""Reads go to the replica, writes to the primary, and a caller can force its reads to the primary."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest

from betterprompts_db.data.postgres import DataLayer
from harness.config import Settings
from harness.errors import ProvisionError
from harness.provision.endpoints import redact
from harness.provision.replica import start_replica, time_to_visible
from harness.provision.waiting import wait_for
from harness.pytest_plugin import ReplicatedEnvironment
from suites.betterprompts.replica.conftest import HASH

IN_RECOVERY = "SELECT pg_is_in_recovery()"


@contextlib.asynccontextmanager
async def replay_paused(env: ReplicatedEnvironment, timeout: float) -> AsyncIterator[None]:
    """The replica receives WAL but applies none of it: what it serves stands still. Entered once
    the replica says it has paused (`pg_wal_replay_pause` only asks)."""
    admin = await asyncpg.connect(env.replica.dsn)
    try:
        await admin.execute("SELECT pg_wal_replay_pause()")

        async def paused() -> bool:
            return bool(await admin.fetchval("SELECT pg_get_wal_replay_pause_state() = 'paused'"))

        await wait_for(paused, f"replay to pause on {redact(env.replica.dsn)}", timeout)
        yield
    finally:
        await admin.execute("SELECT pg_wal_replay_resume()")
        await admin.close()


async def test_a_readonly_transaction_runs_on_the_replica_and_a_read_write_one_on_the_primary(
    routed: DataLayer,
) -> None:
    async with routed.db.transaction(readonly=True):
        assert await routed.db.fetchval("probe", IN_RECOVERY) is True
    async with routed.db.transaction():
        assert await routed.db.fetchval("probe", IN_RECOVERY) is False
    assert await routed.db.fetchval("probe", IN_RECOVERY) is False  # a lone statement: a write, maybe
    assert (await routed.db.read_row("probe", IN_RECOVERY))[0] is True  # type: ignore[index]


async def test_on_primary_sends_every_read_in_the_block_to_the_primary(routed: DataLayer) -> None:
    with routed.db.on_primary():
        async with routed.db.transaction(readonly=True):
            assert await routed.db.fetchval("probe", IN_RECOVERY) is False
        assert (await routed.db.read_row("probe", IN_RECOVERY))[0] is False  # type: ignore[index]
    async with routed.db.transaction(readonly=True):
        assert await routed.db.fetchval("probe", IN_RECOVERY) is True


async def test_repository_reads_come_from_the_replica_so_a_fresh_write_needs_on_primary_until_replayed(
    routed: DataLayer, pg_replica: ReplicatedEnvironment, hang_timeout: float
) -> None:
    name = f"r{uuid4().hex[:12]}"
    async with replay_paused(pg_replica, hang_timeout):
        user = await routed.repos.users.create(email=f"{name}@example.com", username=name, password_hash=HASH)
        assert await routed.repos.users.find(user.id) is None  # the replica has not applied it
        assert (await routed.repos.users.list(filters={"username": name})).items == []
        with routed.db.on_primary():
            assert (await routed.repos.users.get(user.id)).username == name  # read-your-writes
    primary = await asyncpg.connect(pg_replica.database.dsn)
    replica = await asyncpg.connect(pg_replica.replica_database.dsn)
    try:
        await time_to_visible(primary, replica, hang_timeout)
    finally:
        await asyncio.gather(primary.close(), replica.close())
    assert (await routed.repos.users.get(user.id)).username == name


async def test_inside_a_read_write_transaction_reads_see_its_own_writes(routed: DataLayer) -> None:
    name = f"t{uuid4().hex[:12]}"
    async with routed.db.transaction():
        user = await routed.repos.users.create(email=f"{name}@example.com", username=name, password_hash=HASH)
        assert (await routed.repos.users.get(user.id)).username == name
        assert [u.id for u in (await routed.repos.users.list(filters={"username": name})).items] == [user.id]


async def test_the_replica_refuses_writes(routed: DataLayer, pg_replica: ReplicatedEnvironment) -> None:
    admin = await asyncpg.connect(pg_replica.replica.dsn)
    try:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await admin.execute("CREATE TABLE refused (id int)")
    finally:
        await admin.close()
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        async with routed.db.transaction(readonly=True):  # on the replica: a write fails there too
            await routed.db.execute("auth.users", "DELETE FROM auth.users")


async def test_a_second_replica_of_one_environment_is_refused_by_name(
    pg_replica: ReplicatedEnvironment, harness_settings: Settings
) -> None:
    with pytest.raises(ProvisionError, match="has a replica already"):
        await start_replica(pg_replica.replica.env, harness_settings)
