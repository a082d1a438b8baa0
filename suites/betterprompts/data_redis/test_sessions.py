"""Sessions: 24 h TTL from the contract, sliding expiry, and an index that always finds them."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.redis import RedisLayer

DAY = 24 * 60 * 60


def keys(services: RedisLayer, session_id: str, user_id: str) -> tuple[str, str]:
    store = services.store
    return store.key("session", session_id=session_id), store.key("user_sessions", user_id=user_id)


async def test_a_new_session_and_its_index_expire_in_24_hours(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    session = await services.sessions.create("u1", {"tier": "pro", "user_agent": "curl/8"})
    key, index = keys(services, session.id, "u1")
    for name in (key, index):
        assert DAY - 5 <= await redis_client.ttl(name) <= DAY
    assert await redis_client.smembers(index) == {session.id.encode()}
    found = await services.sessions.get(session.id)
    assert found is not None
    assert (found.user_id, found.created_at) == ("u1", session.created_at)
    assert found.attributes == {"tier": "pro", "user_agent": "curl/8"}


async def test_reading_a_session_slides_its_expiry_and_its_indexs_back_to_24_hours(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    session = await services.sessions.create("u1")
    key, index = keys(services, session.id, "u1")
    for name in (key, index):
        await redis_client.expire(name, 60)  # as if the session had been idle for almost a day
    found = await services.sessions.get(session.id)
    assert found is not None
    assert found.last_seen >= session.last_seen
    for name in (key, index):
        assert DAY - 5 <= await redis_client.ttl(name) <= DAY


async def test_refresh_slides_the_expiry_and_reports_a_missing_session(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    session = await services.sessions.create("u1")
    key, _ = keys(services, session.id, "u1")
    await redis_client.expire(key, 60)
    assert await services.sessions.refresh(session.id)
    assert await redis_client.ttl(key) > DAY - 5
    assert not await services.sessions.refresh("no-such-session")


async def test_revoking_one_session_removes_it_from_its_index_and_leaves_the_others(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    first, second = await services.sessions.create("u1"), await services.sessions.create("u1")
    assert await services.sessions.revoke(first.id)
    assert not await services.sessions.revoke(first.id)
    assert await services.sessions.get(first.id) is None
    assert await services.sessions.get(second.id) is not None
    _, index = keys(services, second.id, "u1")
    assert await redis_client.smembers(index) == {second.id.encode()}


async def test_revoking_all_ends_every_session_of_the_user_and_no_one_elses(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    mine = [await services.sessions.create("u1") for _ in range(3)]
    theirs = await services.sessions.create("u2")
    assert await services.sessions.revoke_all("u1") == 3
    for session in mine:
        assert await services.sessions.get(session.id) is None
    assert await services.sessions.get(theirs.id) is not None
    _, index = keys(services, theirs.id, "u1")
    assert not await redis_client.exists(index)
    assert await services.sessions.revoke_all("u1") == 0


async def test_a_session_created_while_revoking_all_is_either_revoked_or_still_indexed(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    for _ in range(5):
        await services.sessions.create("u1")
    created, _ = await asyncio.gather(
        asyncio.gather(*(services.sessions.create("u1") for _ in range(20))), services.sessions.revoke_all("u1")
    )
    _, index = keys(services, "any", "u1")
    indexed = await redis_client.smembers(index)
    for session in created:
        key, _ = keys(services, session.id, "u1")
        if await redis_client.exists(key):
            assert session.id.encode() in indexed


async def test_session_input_that_is_not_a_plain_token_or_uses_a_reserved_field_is_refused(
    services: RedisLayer,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await services.sessions.get("x:bp:flag:admin")
    assert refused.value.field == "session_id"
    with pytest.raises(InvalidInput) as refused:
        await services.sessions.create("user one")
    assert refused.value.field == "user_id"
    with pytest.raises(InvalidInput) as refused:
        await services.sessions.create("u1", {"user_id": "someone-else"})
    assert refused.value.field == "attributes"
