"""The sliding-window rate limiter: exact under concurrency, and the window slides."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from betterprompts_db.data.errors import InvalidInput, RateLimited
from betterprompts_db.data.redis import RateDecision, RedisLayer
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
    loop = asyncio.get_running_loop()
    asked = loop.time()
    await limiter.check("key-1")
    ttl_ms = await redis_client.pttl(limiter.key("key-1"))
    waited_ms = (loop.time() - asked) * 1000  # the TTL can have run down by no more than this
    assert 60_000 - waited_ms - 1 <= ttl_ms <= 60_000


async def test_a_refused_request_says_when_to_retry_and_the_window_slides_to_admit_again(
    services: RedisLayer, hang_timeout: float
) -> None:
    window = 0.5
    limiter = services.rate_limiter("ip", limit=3, window_seconds=window)
    loop = asyncio.get_running_loop()
    tries: list[tuple[str, list[int], float, RateDecision]] = []

    async def four_checks_within_one_window() -> bool:
        """Three checks and a fourth on a fresh subject; true when all four fell within one window
        by the test's clock, so that what follows must hold exactly. A machine too busy for that
        gets another try rather than a wrong verdict."""
        subject, started = f"10.0.0.{len(tries) + 1}", loop.time()
        remaining = [(await limiter.check(subject)).remaining for _ in range(3)]
        asked = loop.time()  # no later than the server's clock at the fourth check
        tries.append((subject, remaining, asked, await limiter.check(subject)))
        return loop.time() - started < window

    await wait_for(four_checks_within_one_window, f"four checks within one {window} s window", hang_timeout)
    subject, remaining, asked, refused = tries[-1]
    assert remaining == [2, 1, 0]
    assert not refused.admitted
    assert 0 < refused.retry_after <= window

    async def admitted() -> bool:
        return (await limiter.check(subject)).admitted

    await wait_for(admitted, "the window to slide past the first request", hang_timeout)
    assert loop.time() - asked >= refused.retry_after - 0.01  # not admitted before the refusal said


async def test_check_or_raise_raises_rate_limited_naming_the_key(services: RedisLayer) -> None:
    limiter = services.rate_limiter("user", limit=1, window_seconds=60)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await limiter.check_or_raise("u1")).admitted
    with pytest.raises(RateLimited, match="bp:ratelimit:user:u1") as refused:
        await limiter.check_or_raise("u1")
    waited = loop.time() - started  # the window can have run on by no more than this
    assert 60 - waited - 0.001 <= refused.value.retry_after <= 60
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
