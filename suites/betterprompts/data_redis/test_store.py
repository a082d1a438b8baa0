"""The shared store: configuration, health, pool statistics, keys only through the contract, and
driver errors arriving as the data layer's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis.asyncio as aioredis

from betterprompts_db.data.errors import AuthenticationFailed, InvalidInput, PermissionDenied, PoolExhausted
from betterprompts_db.data.redis import RedisConfig, RedisLayer, RedisStore, open_redis
from betterprompts_db.keyspace import Keyspace
from harness.provision.endpoints import with_credentials
from suites.betterprompts.conftest import HangGuards


@asynccontextmanager
async def holding(store: RedisStore, count: int) -> AsyncIterator[list[Any]]:
    """`count` connections taken from the store's pool, as busy callers would hold them."""
    pool = store.client.connection_pool
    held = [await pool.get_connection() for _ in range(count)]  # type: ignore[no-untyped-call]
    try:
        yield held
    finally:
        for connection in held:
            await pool.release(connection)


def test_the_default_pool_holds_the_summarys_100_connections() -> None:
    assert RedisConfig("redis://localhost:6379/0").max_connections == 100


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("url", {"url": "http://localhost"}),
        ("max_connections", {"max_connections": 0}),
        ("socket_timeout", {"socket_timeout": 0}),
        ("pool_timeout", {"pool_timeout": -1}),
        ("reconnect_attempts", {"reconnect_attempts": -1}),
    ],
)
def test_a_config_out_of_range_is_refused_naming_the_field(field: str, overrides: dict[str, object]) -> None:
    arguments: dict[str, object] = {"url": "redis://localhost:6379/0", **overrides}
    with pytest.raises(InvalidInput) as refused:
        RedisConfig(**arguments)  # type: ignore[arg-type]
    assert refused.value.field == field


async def test_health_check_pings_within_its_deadline(services: RedisLayer, hang_guards: HangGuards) -> None:
    health = await services.store.health_check(deadline=hang_guards.seconds)
    assert health.ok
    assert health.error is None
    assert 0 < health.latency_ms < hang_guards.seconds * 1000


async def test_health_check_reports_an_unreachable_server_instead_of_raising(keyspace: Keyspace) -> None:
    async with RedisStore(RedisConfig("redis://127.0.0.1:1/0", connect_timeout=0.2), keyspace) as store:
        health = await store.health_check(deadline=1.0)
    assert not health.ok
    assert health.error is not None
    assert "Error" in health.error


async def test_pool_statistics_count_connections_in_use_and_idle(services: RedisLayer) -> None:
    store = services.store
    assert store.stats().in_use == 0
    async with holding(store, 3):
        stats = store.stats()
        assert (stats.in_use, stats.max_size, stats.available) == (3, 100, 97)
    stats = store.stats()
    assert (stats.in_use, stats.idle) == (0, 3)


async def test_replies_are_parsed_by_hiredis(services: RedisLayer) -> None:
    async with holding(services.store, 1) as (connection,):
        assert type(connection._parser).__name__ == "_AsyncHiredisParser"


async def test_a_full_pool_raises_pool_exhausted_after_the_pool_timeout(
    app_url: str, keyspace: Keyspace, hang_guards: HangGuards
) -> None:
    layer = open_redis(hang_guards.redis(app_url, max_connections=1, pool_timeout=0.05), keyspace)
    try:
        async with holding(layer.store, 1):
            with pytest.raises(PoolExhausted, match="bp:temp:code:u1"):
                await layer.temp.get("code", "u1")
    finally:
        await layer.close()


def test_keys_are_built_only_from_plain_tokens_and_bad_parts_name_their_field(services: RedisLayer) -> None:
    assert services.store.key("temp", purpose="verify", id="u-1") == "bp:temp:verify:u-1"
    with pytest.raises(InvalidInput) as refused:
        services.store.key("temp", purpose="verify", id="x:bp:flag:admin")
    assert refused.value.field == "id"
    with pytest.raises(InvalidInput) as refused:
        services.store.key("rate_limit", scope="planet", subject="u1")
    assert refused.value.field == "scope"
    with pytest.raises(InvalidInput) as refused:  # a regex `$` would let a trailing newline through
        services.store.key("temp", purpose="verify", id="u-1\n")
    assert refused.value.field == "id"


async def test_an_acl_refusal_is_permission_denied_naming_the_key(
    app_url: str, keyspace: Keyspace, redis_client: aioredis.Redis, hang_guards: HangGuards
) -> None:
    reader_url = with_credentials(app_url, "bp_readonly", keyspace.users["bp_readonly"].dev_password)
    reader = open_redis(hang_guards.redis(reader_url), keyspace)
    try:
        with pytest.raises(PermissionDenied, match=r"bp:session:"):
            await reader.sessions.create("u1")
        assert await redis_client.dbsize() == 0
    finally:
        await reader.close()


async def test_wrong_credentials_are_authentication_failed(
    app_url: str, keyspace: Keyspace, hang_guards: HangGuards
) -> None:
    layer = open_redis(hang_guards.redis(with_credentials(app_url, "bp_app", "not-the-password")), keyspace)
    try:
        with pytest.raises(AuthenticationFailed, match="bp:temp:code:u1"):
            await layer.temp.get("code", "u1")
        assert not (await layer.store.health_check()).ok
    finally:
        await layer.close()
