"""Redis down, frozen or restarted, on servers of the test's own: the caches degrade to misses
(after one socket timeout when Redis is frozen), the other services raise typed errors, and all
recover."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from betterprompts_db.data.errors import Timeout, Unavailable
from betterprompts_db.data.redis import RedisConfig, RedisLayer, open_redis
from betterprompts_db.keyspace import Keyspace
from harness.pytest_plugin import PrivateEnvironment
from suites.betterprompts.conftest import HangGuards
from suites.betterprompts.data_redis.conftest import as_app_user

pytestmark = pytest.mark.faults

SOCKET_TIMEOUT = 0.25  # the frozen-Redis test's own deadline; only a paused server ever meets it
PARTS = ("GET", "/v1/templates")


async def computed() -> bytes:
    return b"computed"


async def answers(services: RedisLayer) -> bool:
    """A health check under the layer's own (hang-guard) deadline: a refusal is quick, a reconnect
    on a busy machine may not be."""
    return (await services.store.health_check(deadline=services.store.config.socket_timeout)).ok


@pytest_asyncio.fixture
async def private_services(
    private_environment: PrivateEnvironment, keyspace: Keyspace, hang_guards: HangGuards
) -> AsyncIterator[RedisLayer]:
    layer = open_redis(hang_guards.redis(as_app_user(private_environment.endpoints.redis, keyspace)), keyspace)
    yield layer
    await layer.close()


async def test_while_redis_is_stopped_caches_miss_other_services_raise_and_all_recover_on_start(
    private_environment: PrivateEnvironment, private_services: RedisLayer
) -> None:
    services = private_services
    await services.api_cache.set(PARTS, b"before")
    await private_environment.faults.redis.stop()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await services.api_cache.get(PARTS) is None
    await services.api_cache.set(PARTS, b"dropped")
    assert await services.api_cache.get_or_compute(PARTS, computed) == b"computed"
    assert await services.predictions.get("hello") is None
    # a refused connection is a miss at once: had any call waited out a deadline (each is the
    # hang guard here), this would have taken at least that long
    assert loop.time() - started < services.store.config.socket_timeout
    with pytest.raises(Unavailable, match="bp:ratelimit:user:u1"):
        await services.rate_limiter("user", 5, 60).check("u1")
    assert not await answers(services)

    await private_environment.faults.redis.start()
    assert await services.api_cache.get(PARTS) == b"before"  # saved on shutdown, served again
    assert await answers(services)


async def test_a_frozen_redis_costs_a_cache_caller_one_socket_timeout(
    private_environment: PrivateEnvironment,
    private_services: RedisLayer,
    keyspace: Keyspace,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = private_services
    await services.temp.put("verify", "u1", b"123456")
    url = as_app_user(private_environment.endpoints.redis, keyspace)
    impatient = open_redis(RedisConfig(url, socket_timeout=SOCKET_TIMEOUT, connect_timeout=SOCKET_TIMEOUT), keyspace)
    try:
        async with private_environment.faults.redis.paused():
            with caplog.at_level(logging.WARNING, logger="betterprompts_db.data.redis"):
                assert await impatient.api_cache.get_or_compute(PARTS, computed) == b"computed"
            outages = [r.getMessage() for r in caplog.records if r.name == "betterprompts_db.data.redis"]
            assert len(outages) == 1, outages  # one timeout, then the miss: never a second wait
            assert "within the socket timeout" in outages[0], outages
            with pytest.raises(Timeout, match="bp:temp:verify:u1"):
                await impatient.temp.get("verify", "u1")
            assert not (await impatient.store.health_check(deadline=SOCKET_TIMEOUT)).ok
    finally:
        await impatient.close()
    assert await services.temp.get("verify", "u1") == b"123456"
    assert await services.api_cache.get_or_compute(PARTS, computed) == b"computed"
    assert await services.api_cache.get(PARTS) == b"computed"  # stored again once Redis answers


async def test_every_service_works_across_a_restart_without_reconnecting_by_hand(
    private_environment: PrivateEnvironment, private_services: RedisLayer
) -> None:
    services = private_services
    limiter = services.rate_limiter("user", limit=5, window_seconds=60)
    assert (await limiter.check("u1")).admitted
    assert services.store.stats().idle >= 1  # pooled connections that the restart will kill
    await private_environment.faults.redis.restart()
    # the first command meets a dead connection and reconnects; EVALSHA meets an empty script
    # cache and reloads its script: neither reaches the caller
    assert (await limiter.check("u1")).admitted
    session = await services.sessions.create("u1")
    assert await services.sessions.get(session.id) is not None
    assert await services.api_cache.get_or_compute(PARTS, computed) == b"computed"
    assert await answers(services)


async def test_sessions_and_rate_windows_survive_a_restart(
    private_environment: PrivateEnvironment, private_services: RedisLayer
) -> None:
    services = private_services
    session = await services.sessions.create("u1")
    limiter = services.rate_limiter("user", limit=5, window_seconds=60)
    assert (await limiter.check("u1")).remaining == 4
    await private_environment.faults.redis.restart()
    assert await services.sessions.get(session.id) is not None
    assert (await limiter.check("u1")).remaining == 3
