"""Connection-pool exhaustion and recovery: fail fast, give connections back, recover at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from harness.config import Settings
from harness.data.errors import PoolExhausted, Timeout, Unavailable
from harness.data.postgres import Database, DataLayer, PoolSettings, connect
from harness.provision import open_environment
from harness.pytest_plugin import Database as DatabaseHandle

ACQUIRE_TIMEOUT = 0.5


@pytest_asyncio.fixture
async def small(fresh_database: DatabaseHandle) -> AsyncIterator[DataLayer]:
    layer = await connect(fresh_database.dsn, PoolSettings(min_size=1, max_size=3, acquire_timeout=ACQUIRE_TIMEOUT))
    yield layer
    await layer.close()


async def backends(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return n
    finally:
        await conn.close()


async def until_in_use(layer: DataLayer, n: int) -> None:
    """Poll under a deadline until `n` connections are checked out."""
    deadline = time.monotonic() + 10
    while layer.db.stats().in_use < n:
        assert time.monotonic() < deadline, f"{n} connections were never checked out"
        await asyncio.sleep(0.005)  # a pool statistic has no event to wait on


async def hold(db: Database, release: asyncio.Event) -> None:
    async with db.transaction():
        await db.execute("hold", "SELECT 1")
        await release.wait()


async def test_an_exhausted_pool_fails_within_the_acquire_timeout_not_a_hang(small: DataLayer) -> None:
    release = asyncio.Event()
    holders = [asyncio.create_task(hold(small.db, release)) for _ in range(3)]
    await until_in_use(small, 3)
    started = time.monotonic()
    with pytest.raises(PoolExhausted, match="all 3 in use"):
        await small.repos.users.list()
    assert ACQUIRE_TIMEOUT * 0.8 <= time.monotonic() - started <= ACQUIRE_TIMEOUT * 1.2
    release.set()
    await asyncio.gather(*holders)
    assert (await small.repos.users.list()).items == []  # recovered as soon as connections returned
    assert small.db.stats().in_use == 0


async def test_cancelled_and_failing_tasks_return_their_connections(
    small: DataLayer, fresh_database: DatabaseHandle
) -> None:
    baseline = small.db.stats()
    sleepers = [asyncio.create_task(small.db.execute("sleep", "SELECT pg_sleep(30)")) for _ in range(3)]
    await until_in_use(small, 3)
    for task in sleepers:
        task.cancel()
    results = await asyncio.gather(*sleepers, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    failing = [small.db.execute("boom", "SELECT 1 / 0") for _ in range(6)]
    assert all(isinstance(r, Exception) for r in await asyncio.gather(*failing, return_exceptions=True))
    assert small.db.stats().in_use == baseline.in_use == 0
    deadline = time.monotonic() + 10
    while await backends(fresh_database.dsn) > small.db.stats().size:  # cancelled queries end on the server too
        assert time.monotonic() < deadline, "server backends did not return to the pool's size"
        await asyncio.sleep(0.02)
    assert await small.db.fetchval("ping", "SELECT 1") == 1


async def test_the_servers_max_connections_reached_is_a_clear_error(harness_settings: Settings) -> None:
    if harness_settings.backend == "external":
        pytest.skip("needs a server of the test's own with a low max_connections")
    settings = harness_settings.model_copy(update={"pg_max_connections": 12, "reuse": False, "keep": False})
    async with await open_environment(settings) as env:
        db = await Database.connect(env.endpoints.postgres, PoolSettings(min_size=1, max_size=30, acquire_timeout=5))
        release = asyncio.Event()
        holders = [asyncio.create_task(hold(db, release)) for _ in range(30)]
        try:
            done, _ = await asyncio.wait(holders, timeout=10, return_when=asyncio.FIRST_EXCEPTION)
            refused = [t.exception() for t in done if t.exception() is not None]
            assert refused, "the server admitted more clients than max_connections"
            assert all(isinstance(e, Unavailable) for e in refused)
            assert "refuses more connections" in str(refused[0])
        finally:
            release.set()
            await asyncio.gather(*holders, return_exceptions=True)
            await db.close()


async def test_statement_timeout_cancels_a_long_query_and_the_connection_is_reusable(
    fresh_database: DatabaseHandle,
) -> None:
    layer = await connect(fresh_database.dsn, PoolSettings(min_size=1, max_size=1, statement_timeout_ms=200))
    try:
        started = time.monotonic()
        with pytest.raises(Timeout, match="statement timeout"):
            await layer.db.execute("sleep", "SELECT pg_sleep(5)")
        assert time.monotonic() - started < 2
        assert await layer.db.fetchval("ping", "SELECT 1") == 1
        assert layer.db.stats().size == 1  # the same connection, reused
    finally:
        await layer.close()
