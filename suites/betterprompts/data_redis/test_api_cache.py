"""The API cache: 5 min TTL, and cache-aside where one caller recomputes a missing key."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.redis import ApiCache, RedisLayer, request_hash
from harness.provision.waiting import wait_for

PARTS = ("GET", "/v1/templates", "page=2")


class Counted:
    """A computation that counts its runs and, when gated, waits for the test to let it finish."""

    def __init__(self, value: bytes, gate: asyncio.Event | None = None) -> None:
        self.value = value
        self.gate = gate
        self.runs = 0

    async def __call__(self) -> bytes:
        self.runs += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.value


async def test_a_cached_response_lives_5_minutes(services: RedisLayer, redis_client: aioredis.Redis) -> None:
    assert await services.api_cache.get(PARTS) is None
    loop = asyncio.get_running_loop()
    stored = loop.time()
    await services.api_cache.set(PARTS, b'{"ok": true}')
    assert await services.api_cache.get(PARTS) == b'{"ok": true}'
    ttl = await redis_client.ttl(services.api_cache.key(PARTS))
    assert 300 - (loop.time() - stored) - 1 <= ttl <= 300  # whole seconds, run down by no more than we waited


async def test_twenty_concurrent_misses_on_one_key_compute_once_and_all_get_the_value(
    services: RedisLayer, redis_client: aioredis.Redis, hang_timeout: float
) -> None:
    compute = Counted(b"response", gate=asyncio.Event())
    callers = asyncio.gather(*(services.api_cache.get_or_compute(PARTS, compute) for _ in range(20)))

    async def lock_taken() -> bool:
        return bool(await redis_client.exists(services.api_cache.lock_key(PARTS)))

    await wait_for(lock_taken, "one caller to take the recompute lock", hang_timeout)
    assert compute.gate is not None
    compute.gate.set()
    assert await callers == [b"response"] * 20
    assert compute.runs == 1
    assert not await lock_taken()  # released by its holder
    assert await services.api_cache.get(PARTS) == b"response"


async def test_a_hit_never_computes(services: RedisLayer) -> None:
    await services.api_cache.set(PARTS, b"cached")
    compute = Counted(b"fresh")
    assert await services.api_cache.get_or_compute(PARTS, compute) == b"cached"
    assert compute.runs == 0


async def test_a_dead_holders_lock_expires_and_a_waiter_takes_over(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    compute = Counted(b"fresh")
    loop = asyncio.get_running_loop()
    started = loop.time()  # before the lock is taken, so its 300 ms run out after this
    await redis_client.set(services.api_cache.lock_key(PARTS), "dead-holder", px=300)
    assert await services.api_cache.get_or_compute(PARTS, compute) == b"fresh"
    assert loop.time() - started >= 0.29  # it waited for the lock instead of computing beside its holder
    assert compute.runs == 1
    assert await services.api_cache.get(PARTS) == b"fresh"


async def test_a_waiter_past_its_deadline_computes_for_itself_and_leaves_the_holders_lock(
    services: RedisLayer, redis_client: aioredis.Redis, hang_timeout: float
) -> None:
    lock = services.api_cache.lock_key(PARTS)
    await redis_client.set(lock, "slow-holder", px=round(hang_timeout * 1000))  # outlives the test
    impatient = ApiCache(services.store, wait_timeout=0.1)
    assert await impatient.get_or_compute(PARTS, Counted(b"mine")) == b"mine"
    assert await impatient.get(PARTS) is None  # storing is the holder's job
    assert await redis_client.get(lock) == b"slow-holder"


async def test_a_failed_computation_releases_the_lock_for_the_next_caller(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    async def broken() -> bytes:
        raise ValueError("upstream failed")

    with pytest.raises(ValueError, match="upstream failed"):
        await services.api_cache.get_or_compute(PARTS, broken)
    assert not await redis_client.exists(services.api_cache.lock_key(PARTS))
    assert await services.api_cache.get_or_compute(PARTS, Counted(b"second try")) == b"second try"


def test_request_hashes_cannot_collide_through_separators() -> None:
    assert request_hash(["a:b", "c"]) != request_hash(["a", "b:c"])
    assert request_hash(["a", "b"]) == request_hash(("a", "b"))


@pytest.mark.parametrize("parts", [[], "GET /v1", ["GET", 2]])
def test_key_parts_that_are_not_a_list_of_strings_are_refused(services: RedisLayer, parts: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.api_cache.key(parts)  # type: ignore[arg-type]
    assert refused.value.field == "key_parts"
