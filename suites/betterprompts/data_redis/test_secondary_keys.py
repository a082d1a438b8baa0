"""Every key the services write lives exactly as the keyspace says, secondary keys included: the
recompute lock expires in 10 s (in milliseconds, not seconds), a user's session index lives as long
as their sessions and slides with them, a revoked or expired session cannot be revived (#12: the
mutants that changed a secondary key's TTL or unit survived)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from betterprompts_db.data.redis import RedisLayer
from betterprompts_db.keyspace import Keyspace
from harness.provision.waiting import wait_for
from suites.betterprompts.data_redis.test_api_cache import PARTS, Counted


async def test_the_recompute_lock_lives_the_contracts_ten_seconds_in_milliseconds(
    services: RedisLayer, redis_client: aioredis.Redis, keyspace: Keyspace, hang_timeout: float
) -> None:
    lock_ttl = keyspace.namespace("api_cache_lock").ttl
    assert lock_ttl == 10
    compute = Counted(b"v", gate=asyncio.Event())
    caller = asyncio.ensure_future(services.api_cache.get_or_compute(PARTS, compute))
    lock = services.api_cache.lock_key(PARTS)

    async def held() -> bool:
        return bool(await redis_client.exists(lock))

    await wait_for(held, "the caller to take the recompute lock", hang_timeout)
    pttl = await redis_client.pttl(lock)
    assert 0 < pttl <= lock_ttl * 1000  # a TTL given in seconds where PX wants ms would read 10, not ~10000
    assert pttl > lock_ttl * 1000 - 5000  # not a tenth of it either (generous: the machine may be busy)
    assert compute.gate is not None
    compute.gate.set()
    assert await caller == b"v"
    cache_ttl = keyspace.namespace("api_cache").ttl
    assert isinstance(cache_ttl, int)
    assert await redis_client.ttl(services.api_cache.key(PARTS)) > cache_ttl - 5


async def test_a_users_session_index_lives_and_slides_with_the_session(
    services: RedisLayer, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    day = keyspace.namespace("user_sessions").ttl
    assert day == keyspace.namespace("session").ttl == 86400
    session = await services.sessions.create("u-index")
    index = keyspace.namespace("user_sessions").key(user_id="u-index")
    key = keyspace.namespace("session").key(session_id=session.id)
    assert await redis_client.smembers(index) == {session.id.encode()}
    for name in (key, index):
        assert day - 5 <= await redis_client.ttl(name) <= day
        await redis_client.expire(name, 60)  # run both down, then read the session: both slide back
    assert await services.sessions.get(session.id) is not None
    for name in (key, index):
        assert day - 5 <= await redis_client.ttl(name) <= day


async def test_a_revoked_or_expired_session_stays_gone(
    services: RedisLayer, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    revoked = await services.sessions.create("u-gone")
    assert await services.sessions.revoke(revoked.id) is True
    assert await services.sessions.revoke(revoked.id) is False  # counted once
    assert await services.sessions.get(revoked.id) is None
    assert await services.sessions.refresh(revoked.id) is False
    expired = await services.sessions.create("u-gone")
    await redis_client.delete(keyspace.namespace("session").key(session_id=expired.id))  # as its TTL would
    assert await services.sessions.get(expired.id) is None
    assert await services.sessions.revoke_all("u-gone") == 0  # nothing live is left to revoke
