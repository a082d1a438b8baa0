"""The faults API on a private environment of the run's backend."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import redis.asyncio as aioredis

from harness.pytest_plugin import PrivateEnvironment

pytestmark = pytest.mark.faults


async def test_postgres_restart_keeps_committed_rows(private_environment: PrivateEnvironment) -> None:
    dsn = private_environment.database.dsn
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1), (2)")
    await conn.close()
    await private_environment.faults.postgres.restart()
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM kept") == 2
    finally:
        await conn.close()


async def test_immediate_restart_loses_only_what_was_not_committed(private_environment: PrivateEnvironment) -> None:
    dsn = private_environment.database.dsn
    committed = await asyncpg.connect(dsn)
    await committed.execute("CREATE TABLE crash (n int); INSERT INTO crash VALUES (1)")
    open_tx = await asyncpg.connect(dsn)
    await open_tx.execute("BEGIN; INSERT INTO crash VALUES (2)")
    await private_environment.faults.postgres.restart(immediate=True)
    for conn in (committed, open_tx):
        with pytest.raises((asyncpg.PostgresConnectionError, ConnectionError, asyncpg.InterfaceError)):
            await conn.fetchval("SELECT 1")
        conn.terminate()
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetch("SELECT n FROM crash") == [(1,)]
    finally:
        await conn.close()


async def test_paused_postgres_times_out_callers_and_resumes_after_unpause(
    private_environment: PrivateEnvironment, hang_timeout: float
) -> None:
    conn = await asyncpg.connect(private_environment.database.dsn)
    try:
        async with private_environment.faults.postgres.paused():
            with pytest.raises(TimeoutError):
                await conn.fetchval("SELECT 1", timeout=0.5)
        conn.terminate()  # the timed-out query left the protocol mid-flight
        conn = await asyncpg.connect(private_environment.database.dsn)
        assert await conn.fetchval("SELECT 1", timeout=hang_timeout) == 1
    finally:
        conn.terminate()


async def test_terminating_connections_cuts_every_client_and_new_ones_succeed(
    private_environment: PrivateEnvironment,
) -> None:
    dsn = private_environment.database.dsn
    victims = [await asyncpg.connect(dsn) for _ in range(3)]
    assert await private_environment.faults.postgres.terminate_connections() >= 3
    for victim in victims:
        # asyncpg reports a connection cut while idle either as the server's FATAL or, when the
        # message raced the next query, as InternalClientError: both mean the connection is gone
        with pytest.raises(
            (asyncpg.PostgresError, ConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError)
        ):
            await victim.fetchval("SELECT 1")
        victim.terminate()
    conn = await asyncpg.connect(dsn)
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()


async def test_paused_redis_times_out_callers_and_resumes(
    private_environment: PrivateEnvironment, hang_timeout: float
) -> None:
    url = private_environment.endpoints.redis
    client = aioredis.Redis.from_url(url, socket_timeout=hang_timeout, socket_connect_timeout=hang_timeout)
    impatient = aioredis.Redis.from_url(url, socket_timeout=0.5)  # only a paused server makes it wait this long
    try:
        await client.set("bp:temp:x", "1")
        async with private_environment.faults.redis.paused():
            with pytest.raises((aioredis.TimeoutError, TimeoutError)):
                await impatient.get("bp:temp:x")
        assert await client.get("bp:temp:x") == b"1"
    finally:
        await client.aclose()
        await impatient.aclose()


async def test_redis_restart_saves_on_shutdown_and_cut_clients_must_reconnect(
    private_environment: PrivateEnvironment,
) -> None:
    url = private_environment.endpoints.redis
    client = aioredis.Redis.from_url(url)
    await client.set("bp:temp:kept", "1")
    await private_environment.faults.redis.restart()
    with pytest.raises(aioredis.ConnectionError):
        await client.get("bp:temp:kept")
    await client.aclose()
    client = aioredis.Redis.from_url(url)
    try:
        assert await client.get("bp:temp:kept") == b"1"
        assert await private_environment.faults.redis.terminate_connections() == 1  # not the killer's own
        with pytest.raises(aioredis.ConnectionError):
            await client.get("bp:temp:kept")
    finally:
        await client.aclose()


async def test_postgres_stop_then_start_refuses_then_serves(private_environment: PrivateEnvironment) -> None:
    faults = private_environment.faults.postgres
    await faults.stop()
    with pytest.raises((OSError, asyncpg.CannotConnectNowError)):
        await asyncio.wait_for(asyncpg.connect(private_environment.database.dsn), 5)
    await faults.start()
    conn = await asyncpg.connect(private_environment.database.dsn)
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()
