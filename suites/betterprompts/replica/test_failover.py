"""Failover: the primary killed mid-stream of writes, its replica promoted. With synchronous
replication (`remote_apply`) no acknowledged write may be missing on the promoted server; with
asynchronous replication the writes it lacks are shown, not asserted (how many is a race)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from uuid import UUID, uuid4

import asyncpg
import pytest

from betterprompts_db.data.errors import DataError
from betterprompts_db.data.postgres import DataLayer
from harness.config import Settings
from harness.provision.replica import start_replica
from harness.pytest_plugin import Database, ReplicatedEnvironment
from suites.betterprompts.conftest import HangGuards
from suites.betterprompts.replica.conftest import HASH, routed_layer

pytestmark = pytest.mark.faults
WRITERS = 8
ACKNOWLEDGED_BEFORE_KILL = 200
Replicated = Callable[[bool], AbstractAsyncContextManager[ReplicatedEnvironment]]


async def write_until_refused(layer: DataLayer, tag: str, writer: int, acknowledged: list[UUID]) -> None:
    """Create users until the primary is gone; each id is recorded once its commit returned."""
    for i in range(1_000_000):
        name = f"{tag}{writer}x{i}"
        try:
            user = await layer.repos.users.create(email=f"{name}@example.com", username=name, password_hash=HASH)
        except DataError:
            return  # the primary went: this write was never acknowledged
        acknowledged.append(user.id)


async def kill_primary_mid_stream(
    env: ReplicatedEnvironment, hang_guards: HangGuards
) -> tuple[list[UUID], set[UUID], float]:
    """(acknowledged ids, the ones the promoted replica has, failover seconds)."""
    layer = await routed_layer(env, hang_guards, max_size=WRITERS)
    acknowledged: list[UUID] = []
    tag = f"f{uuid4().hex[:6]}"
    try:
        writers = [asyncio.create_task(write_until_refused(layer, tag, w, acknowledged)) for w in range(WRITERS)]
        deadline = time.monotonic() + hang_guards.seconds
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL:  # writes are in flight when the primary dies
            assert time.monotonic() < deadline, f"only {len(acknowledged)} writes acknowledged"
            await asyncio.sleep(0.005)
        seconds = await env.replica.fail_over()
        await asyncio.gather(*writers)
    finally:
        await layer.close()
    promoted = await asyncpg.connect(env.replica_database.dsn)
    try:
        assert await promoted.fetchval("SELECT pg_is_in_recovery()") is False
        present = await promoted.fetchval(
            "SELECT array_agg(id) FROM auth.users WHERE id = ANY($1::uuid[])", acknowledged
        )
        name = f"{tag}after"
        await promoted.execute(  # the promoted server takes writes
            "INSERT INTO auth.users (email, username, password_hash) VALUES ($1, $2, $3)", f"{name}@example.com",
            name, HASH,
        )  # fmt: skip
    finally:
        await promoted.close()
    return acknowledged, set(present or []), seconds


async def assert_the_primary_takes_writes_alone(env: ReplicatedEnvironment, hang_guards: HangGuards) -> None:
    """A commit on the primary returns with no standby, and no longer asks for `remote_apply`."""
    primary = await asyncpg.connect(env.database.dsn)
    try:
        async with asyncio.timeout(hang_guards.seconds):
            await primary.execute(
                "INSERT INTO auth.users (email, username, password_hash) VALUES ('alone@example.com', 'alone', $1)",
                HASH,
            )
        assert await primary.fetchval("SHOW synchronous_commit") != "remote_apply"
    finally:
        await primary.close()


async def test_a_stopped_synchronous_replica_frees_the_primary_and_its_successor_loses_no_write_in_failover(
    replicated_environment: Replicated, harness_settings: Settings, hang_guards: HangGuards,
    record_property: Callable[[str, object], None],
) -> None:  # fmt: skip
    """Two proofs on one pair (a pair costs a primary, a redis and a replica started): a stopped
    synchronous replica leaves the primary taking writes, where every commit would otherwise wait
    for a standby that is gone; and with the synchronous replica started in its place, no
    acknowledged write is missing on it once the primary is killed mid-stream and it is promoted."""
    async with replicated_environment(True) as env:
        await env.replica.stop()
        await assert_the_primary_takes_writes_alone(env, hang_guards)
        async with await start_replica(env.replica.env, harness_settings, synchronous=True) as successor:
            name = env.database.name
            replaced = dataclasses.replace(
                env, endpoints=dataclasses.replace(env.endpoints, replica=successor.dsn), replica=successor,
                replica_database=Database(name, successor.postgres_dsn(name), env.database.logins),
            )  # fmt: skip
            acknowledged, present, seconds = await kill_primary_mid_stream(replaced, hang_guards)
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    assert set(acknowledged) - present == set()
    record_property("failover_seconds_sync", f"{seconds:.3f}")
    print(f"{env.endpoints.backend} sync failover: {seconds * 1000:.0f} ms, {len(acknowledged)} acknowledged, 0 lost")


async def test_with_asynchronous_replication_failover_shows_what_acknowledged_writes_can_be_lost(
    replicated_environment: Replicated, hang_guards: HangGuards, record_property: Callable[[str, object], None]
) -> None:
    async with replicated_environment(False) as env:
        acknowledged, present, seconds = await kill_primary_mid_stream(env, hang_guards)
    lost = set(acknowledged) - present
    record_property("failover_seconds_async", f"{seconds:.3f}")
    record_property("acknowledged_writes_lost_async", len(lost))
    print(
        f"{env.endpoints.backend} async failover: {seconds * 1000:.0f} ms,"
        f" {len(acknowledged)} acknowledged, {len(lost)} lost (a race: any number is possible)"
    )
