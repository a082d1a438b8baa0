"""The data layer and the keyspace contract agree on which expiries slide: for every namespace
whose keys the data layer reads back, an access through the layer's own read pushes a key's TTL
back up when the contract declares the namespace `sliding`, and leaves it where it was when the
contract declares a fixed expiry. The contract is read through the settings, so a contract that
says "fixed" for a namespace the layer slides (or the other way round) fails here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from betterprompts_db.data.redis import RedisLayer
from betterprompts_db.keyspace import Keyspace

Access = Callable[[], Awaitable[object]]


async def session(services: RedisLayer) -> tuple[str, Access]:
    made = await services.sessions.create("u1")
    return services.store.key("session", session_id=made.id), lambda: services.sessions.get(made.id)


async def user_sessions(services: RedisLayer) -> tuple[str, Access]:
    """The user's index is read with each of its sessions: reading a session slides both."""
    made = await services.sessions.create("u1")
    return services.store.key("user_sessions", user_id="u1"), lambda: services.sessions.get(made.id)


async def api_cache(services: RedisLayer) -> tuple[str, Access]:
    parts = ["GET", "/v1/techniques"]
    await services.api_cache.set(parts, b"response")
    return services.api_cache.key(parts), lambda: services.api_cache.get(parts)


async def ml_cache(services: RedisLayer) -> tuple[str, Access]:
    await services.predictions.set("Write a poem", b"creative")
    return services.predictions.key("Write a poem"), lambda: services.predictions.get("write a poem")


async def temp(services: RedisLayer) -> tuple[str, Access]:
    await services.temp.put("verify", "u1", b"123456")
    return services.temp.key("verify", "u1"), lambda: services.temp.get("verify", "u1")


# namespace → a key of it written through the data layer, and the layer's read of that key
ACCESSES: dict[str, Callable[[RedisLayer], Awaitable[tuple[str, Access]]]] = {
    "session": session, "user_sessions": user_sessions, "api_cache": api_cache, "ml_cache": ml_cache, "temp": temp,
}  # fmt: skip
# namespaces with an expiry whose keys the data layer never reads back, and why
NOT_READ = {
    "api_cache_lock": "taken with SET NX and released by its holder; no read touches it",
    "rate_limit": "expires after the limiter's own window, set anew by every admitted request",
}


def test_every_namespace_with_an_expiry_is_judged_here(keyspace: Keyspace) -> None:
    expiring = {name for name, entry in keyspace.namespaces.items() if entry.ttl is not None}
    sliding = {name for name, entry in keyspace.namespaces.items() if entry.sliding}
    assert expiring - ACCESSES.keys() - NOT_READ.keys() == set()
    assert sliding - ACCESSES.keys() == set()


@pytest.mark.parametrize("namespace", sorted(ACCESSES))
async def test_an_access_slides_the_expiry_exactly_when_the_contract_says_so(
    services: RedisLayer, redis_client: aioredis.Redis, keyspace: Keyspace, namespace: str
) -> None:
    entry = keyspace.namespace(namespace)
    assert isinstance(entry.ttl, int), f"{namespace}: the data layer expires it after a fixed TTL"
    key, access = await ACCESSES[namespace](services)
    lowered = entry.ttl // 2  # as if the key had been idle for half its life
    assert await redis_client.expire(key, lowered)
    assert await access() is not None
    ttl = await redis_client.ttl(key)
    if entry.sliding:
        assert lowered < ttl <= entry.ttl, f"{key}: sliding, but the access left its TTL at {ttl}"
    else:
        assert 0 < ttl <= lowered, f"{key}: a fixed expiry, but the access pushed its TTL to {ttl}"
