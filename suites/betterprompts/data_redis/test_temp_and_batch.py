"""Short-lived data with the contract's TTL, and batch reads and writes in one round trip."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.redis import RedisLayer, get_many, set_many
from harness.errors import ConfigurationError


async def test_a_verification_code_lives_10_minutes_and_is_good_exactly_once(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    await services.temp.put("verify", "u1", b"492817")
    assert 595 <= await redis_client.ttl(services.temp.key("verify", "u1")) <= 600
    assert await services.temp.get("verify", "u1") == b"492817"
    assert await services.temp.take("verify", "u1") == b"492817"
    assert await services.temp.take("verify", "u1") is None


async def test_temp_data_takes_a_ttl_of_its_own_but_never_a_non_positive_one(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    await services.temp.put("reset", "u1", b"token", ttl=30)
    assert 25 <= await redis_client.ttl(services.temp.key("reset", "u1")) <= 30
    with pytest.raises(InvalidInput) as refused:
        await services.temp.put("reset", "u1", b"token", ttl=0)
    assert refused.value.field == "ttl"
    assert await services.temp.delete("reset", "u1")


async def test_batches_write_and_read_many_keys_in_order_with_the_namespace_ttl(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    items = [({"purpose": "invite", "id": f"i{n}"}, f"code-{n}".encode()) for n in range(50)]
    await set_many(services.store, "temp", items)
    wanted = [
        {"purpose": "invite", "id": "i7"},
        {"purpose": "invite", "id": "missing"},
        {"purpose": "invite", "id": "i0"},
    ]
    assert await get_many(services.store, "temp", wanted) == [b"code-7", None, b"code-0"]
    assert 595 <= await redis_client.ttl(services.temp.key("invite", "i49")) <= 600
    assert await get_many(services.store, "temp", []) == []


async def test_batches_refuse_namespaces_that_do_not_hold_strings(services: RedisLayer) -> None:
    with pytest.raises(InvalidInput) as refused:
        await get_many(services.store, "session", [{"session_id": "s1"}])
    assert refused.value.field == "namespace"


@pytest.mark.parametrize(
    ("bad", "field"),
    [({"request_hash": "ok\nbp:flag:x"}, "request_hash"), ({"request_hash": "a b"}, "request_hash"),
     ({"request_hash": 7}, "request_hash"), ({"other": "x"}, None)],
)  # fmt: skip
async def test_a_batch_with_one_bad_key_is_refused_naming_the_part_and_sends_nothing(
    services: RedisLayer, redis_client: aioredis.Redis, bad: dict[str, object], field: str | None
) -> None:
    items = [({"request_hash": f"h{n}"}, b"v") for n in range(20)] + [(bad, b"v")]
    with pytest.raises((InvalidInput, ConfigurationError)) as refused:
        await set_many(services.store, "api_cache", items)  # type: ignore[arg-type]
    if field is not None:
        assert isinstance(refused.value, InvalidInput)
        assert refused.value.field == field
    else:  # a part the pattern does not have is the caller's programming error
        assert "needs ['request_hash']" in str(refused.value)
    assert await redis_client.dbsize() == 0
