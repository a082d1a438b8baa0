"""Connection-pool exhaustion and recovery: fail fast, give connections back, recover at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from betterprompts_db.data.errors import PoolExhausted, Timeout, Unavailable
from betterprompts_db.data.postgres import Database, DataLayer, connect
from harness.config import Settings
from harness.provision import open_environment
from harness.pytest_plugin import Database as DatabaseHandle
from suites.betterprompts.conftest import HangGuards

ACQUIRE_TIMEOUT = 0.5  # the exhaustion test's own deadline; only a pool held full ever meets it


@pytest_asyncio.fixture
async def small(fresh_database: DatabaseHandle, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """A pool of 3 whose deadlines only guard against hangs."""
    layer = await connect(fresh_database.dsn, hang_guards.pool(min_size=1, max_size=3))
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


async def until_in_use(layer: DataLayer, n: int, timeout: float) -> None:
    """Poll under a deadline until `n` connections are checked out."""
    deadline = time.monotonic() + timeout
    while layer.db.stats().in_use < n:
        assert time.monotonic() < deadline, f"{n} connections were never checked out"
        await asyncio.sleep(0.005)  # a pool statistic has no event to wait on


async def hold(db: Database, release: asyncio.Event) -> None:
    async with db.transaction():
        await db.execute("hold", "SELECT 1")
        await release.wait()


async def test_an_exhausted_pool_fails_after_the_acquire_timeout_not_a_hang(
    fresh_database: DatabaseHandle, hang_guards: HangGuards
) -> None:
    # all three opened up front: only a pool held full should ever meet the short deadline
    settings = hang_guards.pool(min_size=3, max_size=3, acquire_timeout=ACQUIRE_TIMEOUT)
    layer = await connect(fresh_database.dsn, settings)
    try:
        release = asyncio.Event()
        holders = [asyncio.create_task(hold(layer.db, release)) for _ in range(3)]
        await until_in_use(layer, 3, hang_guards.seconds)
        started = time.monotonic()
        async with asyncio.timeout(hang_guards.seconds):  # a wait without a deadline fails here, by name
            with pytest.raises(PoolExhausted, match="all 3 in use"):
                await layer.repos.users.list()
        assert time.monotonic() - started >= ACQUIRE_TIMEOUT * 0.9  # it waited for a connection first
        release.set()
        await asyncio.gather(*holders)
        assert (await layer.repos.users.list()).items == []  # recovered as soon as connections returned
        assert layer.db.stats().in_use == 0
    finally:
        await layer.close()


async def test_cancelled_and_failing_tasks_return_their_connections(
    small: DataLayer, fresh_database: DatabaseHandle, hang_guards: HangGuards
) -> None:
    baseline = small.db.stats()
    sleepers = [asyncio.create_task(small.db.execute("sleep", "SELECT pg_sleep(30)")) for _ in range(3)]
    await until_in_use(small, 3, hang_guards.seconds)
    for task in sleepers:
        task.cancel()
    results = await asyncio.gather(*sleepers, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    failing = [small.db.execute("boom", "SELECT 1 / 0") for _ in range(6)]
    assert all(isinstance(r, Exception) for r in await asyncio.gather(*failing, return_exceptions=True))
    assert small.db.stats().in_use == baseline.in_use == 0
    deadline = time.monotonic() + hang_guards.seconds
    while await backends(fresh_database.dsn) > small.db.stats().size:  # cancelled queries end on the server too
        assert time.monotonic() < deadline, "server backends did not return to the pool's size"
        await asyncio.sleep(0.02)
    assert await small.db.fetchval("ping", "SELECT 1") == 1


async def test_the_servers_max_connections_reached_is_a_clear_error(
    harness_settings: Settings, hang_guards: HangGuards
) -> None:
    if harness_settings.backend == "external":
        pytest.skip("needs a server of the test's own with a low max_connections")
    settings = harness_settings.model_copy(update={"pg_max_connections": 12, "reuse": False, "keep": False})
    async with await open_environment(settings) as env:
        db = await Database.connect(env.endpoints.postgres, hang_guards.pool(min_size=1, max_size=30))
        release = asyncio.Event()
        holders = [asyncio.create_task(hold(db, release)) for _ in range(30)]
        try:
            done, _ = await asyncio.wait(holders, timeout=hang_guards.seconds, return_when=asyncio.FIRST_EXCEPTION)
            refused = [t.exception() for t in done if t.exception() is not None]
            assert refused, "the server admitted more clients than max_connections"
            assert all(isinstance(e, Unavailable) for e in refused)
            assert "refuses more connections" in str(refused[0])
        finally:
            release.set()
            await asyncio.gather(*holders, return_exceptions=True)
            await db.close()


async def test_statement_timeout_cancels_a_long_query_and_the_connection_is_reusable(
    fresh_database: DatabaseHandle, hang_guards: HangGuards
) -> None:
    layer = await connect(fresh_database.dsn, hang_guards.pool(min_size=1, max_size=1, statement_timeout_ms=200))
    try:
        with pytest.raises(Timeout, match="statement timeout"):  # the server's cancel, not the client's deadline
            await layer.db.execute("sleep", "SELECT pg_sleep(5)")
        assert await layer.db.fetchval("ping", "SELECT 1") == 1
        assert layer.db.stats().size == 1  # the same connection, reused
    finally:
        await layer.close()
