"""Replica lag under a write mix: sampled while the mix runs, and the time a write takes to become
visible on the replica. Figures are reported (JUnit properties, and printed with -s), not asserted:
they depend on the machine; what is asserted is that the replica keeps up and misses nothing."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from uuid import uuid4

import asyncpg

from betterprompts_db.data.postgres import DataLayer
from harness.provision.replica import Lag, replication_lag, time_to_visible
from harness.pytest_plugin import ReplicatedEnvironment
from suites.betterprompts.replica.conftest import HASH

WRITERS = 8
WRITES_PER_WRITER = 40
VISIBILITY_PROBES = 20
# waiting for the write position instead, the first probe found its commit unreplayed (4 runs of 4)
ASYNCHRONOUS_PROBES = 5


async def write_mix(layer: DataLayer, tag: str, writer: int) -> None:
    """A user created, renamed and, every third one, deleted: inserts, updates and deletes."""
    for i in range(WRITES_PER_WRITER):
        name = f"{tag}{writer}x{i}"
        user = await layer.repos.users.create(email=f"{name}@example.com", username=name, password_hash=HASH)
        await layer.repos.users.update(user.id, first_name="Mixed")
        if i % 3 == 0:
            await layer.repos.users.delete(user.id)


async def sample_lag(primary: asyncpg.Connection, samples: list[Lag], done: asyncio.Event) -> None:
    while not done.is_set():
        samples.append(await replication_lag(primary))
        await asyncio.sleep(0.01)  # a sampling interval, not a wait for anything


def summary(values: list[float], unit: str, scale: float = 1.0) -> str:
    return f"p50 {statistics.median(values) * scale:.2f} {unit}, max {max(values) * scale:.2f} {unit}"


async def test_under_a_write_mix_the_replica_lags_measurably_and_ends_with_every_row(
    routed: DataLayer, pg_replica: ReplicatedEnvironment, hang_timeout: float,
    record_property: Callable[[str, object], None],
) -> None:  # fmt: skip
    tag = f"m{uuid4().hex[:6]}"
    primary = await asyncpg.connect(pg_replica.database.dsn)
    replica = await asyncpg.connect(pg_replica.replica_database.dsn)
    try:
        samples: list[Lag] = []
        done = asyncio.Event()
        sampler = asyncio.create_task(sample_lag(primary, samples, done))
        try:
            await asyncio.gather(*(write_mix(routed, tag, w) for w in range(WRITERS)))
        finally:
            done.set()
            await sampler
        await time_to_visible(primary, replica, hang_timeout)
        query = "SELECT count(*) FROM auth.users WHERE username LIKE $1 AND first_name = 'Mixed'"
        expected = WRITERS * (WRITES_PER_WRITER - len(range(0, WRITES_PER_WRITER, 3)))
        assert await primary.fetchval(query, f"{tag}%") == expected
        assert await replica.fetchval(query, f"{tag}%") == expected

        visible: list[float] = []
        for i in range(VISIBILITY_PROBES):
            name = f"{tag}v{i}"
            await routed.repos.users.create(email=f"{name}@example.com", username=name, password_hash=HASH)
            visible.append(await time_to_visible(primary, replica, hang_timeout))
    finally:
        await asyncio.gather(primary.close(), replica.close())

    assert samples, "the sampler saw no replica streaming"
    lag_bytes = [float(s.bytes) for s in samples]
    replay = [s.replay_seconds for s in samples if s.replay_seconds is not None]
    figures = {
        "replica_lag_bytes": summary(lag_bytes, "kB", 1 / 1024),
        "replica_replay_lag": summary(replay, "ms", 1000) if replay else "no replay_lag reported",
        "replica_time_to_visible": summary(visible, "ms", 1000),
    }
    for name, text in figures.items():
        record_property(name, text)
        print(f"{pg_replica.endpoints.backend} {name}: {text}")


async def test_once_time_to_visible_returns_an_asynchronous_commit_is_readable_on_the_replica(
    pg_replica: ReplicatedEnvironment, hang_timeout: float
) -> None:
    """The record of an asynchronous commit waits in the primary's WAL buffers for the WAL writer:
    waiting for the primary's write position instead of its insert position left it unreplayed."""
    primary = await asyncpg.connect(pg_replica.database.dsn)
    replica = await asyncpg.connect(pg_replica.replica_database.dsn)
    try:
        await primary.execute("SET synchronous_commit = off")  # as `harness up` and the load tests commit
        await primary.execute("CREATE TABLE visible_probe (id int)")
        await time_to_visible(primary, replica, hang_timeout)
        for i in range(ASYNCHRONOUS_PROBES):  # each waits for the WAL writer (wal_writer_delay: 200 ms)
            await primary.execute("INSERT INTO visible_probe VALUES ($1)", i)
            await time_to_visible(primary, replica, hang_timeout)
            assert await replica.fetchval("SELECT count(*) FROM visible_probe WHERE id = $1", i) == 1
    finally:
        await asyncio.gather(primary.close(), replica.close())
