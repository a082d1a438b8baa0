"""The sliding-window rate limiter: exact under concurrency, and the window slides."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from harness.data.errors import InvalidInput, RateLimited
from harness.data.redis import RedisLayer
from harness.provision.waiting import wait_for


async def test_a_hundred_concurrent_callers_against_a_limit_of_seven_admit_exactly_seven(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    limiter = services.rate_limiter("user", limit=7, window_seconds=60)
    decisions = await asyncio.gather(*(limiter.check("u1") for _ in range(100)))
    assert sum(decision.admitted for decision in decisions) == 7
    assert await redis_client.zcard(limiter.key("u1")) == 7
    assert sorted(d.remaining for d in decisions if d.admitted) == list(range(7))


async def test_the_request_log_expires_with_the_window(services: RedisLayer, redis_client: aioredis.Redis) -> None:
    limiter = services.rate_limiter("api_key", limit=5, window_seconds=60)
    await limiter.check("key-1")
    assert 59_000 < await redis_client.pttl(limiter.key("key-1")) <= 60_000


async def test_a_refused_request_says_when_to_retry_and_the_window_slides_to_admit_again(
    services: RedisLayer,
) -> None:
    limiter = services.rate_limiter("ip", limit=3, window_seconds=0.5)
    remaining = [(await limiter.check("10.0.0.1")).remaining for _ in range(3)]
    assert remaining == [2, 1, 0]
    refused = await limiter.check("10.0.0.1")
    assert not refused.admitted
    assert 0 < refused.retry_after <= 0.5
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def admitted() -> bool:
        return (await limiter.check("10.0.0.1")).admitted

    await wait_for(admitted, "the window to slide past the first request", timeout=3)
    assert loop.time() - started >= refused.retry_after - 0.05


async def test_check_or_raise_raises_rate_limited_naming_the_key(services: RedisLayer) -> None:
    limiter = services.rate_limiter("user", limit=1, window_seconds=60)
    assert (await limiter.check_or_raise("u1")).admitted
    with pytest.raises(RateLimited, match="bp:ratelimit:user:u1") as refused:
        await limiter.check_or_raise("u1")
    assert 59 < refused.value.retry_after <= 60
    assert refused.value.limit == 1


async def test_each_subject_has_its_own_window(services: RedisLayer) -> None:
    limiter = services.rate_limiter("user", limit=1, window_seconds=60)
    assert (await limiter.check("u1")).admitted
    assert (await limiter.check("u2")).admitted
    assert not (await limiter.check("u1")).admitted


@pytest.mark.parametrize(
    ("field", "scope", "limit", "window"),
    [
        ("limit", "user", 0, 1.0),
        ("limit", "user", -3, 1.0),
        ("window_seconds", "user", 5, 0.0),
        ("scope", "planet", 5, 1.0),
    ],
)
def test_limits_windows_and_scopes_out_of_range_are_refused(
    services: RedisLayer, field: str, scope: str, limit: int, window: float
) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.rate_limiter(scope, limit, window)
    assert refused.value.field == field


async def test_a_subject_that_is_not_a_plain_token_is_refused(services: RedisLayer) -> None:
    with pytest.raises(InvalidInput) as refused:
        await services.rate_limiter("user", 5, 1.0).check("u1:bp:flag:x")
    assert refused.value.field == "subject"
