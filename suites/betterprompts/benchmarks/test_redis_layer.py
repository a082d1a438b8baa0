"""The Redis services beside raw redis-py on the same client (the same pool) and the same commands:
each pair is one benchmark whose rounds alternate `layer` and `raw` (`measure_layer_pair`); the
figure that matters is their ratio (target
≥ 0.85 of raw throughput). What the layer adds is key building through the keyspace contract,
error translation and reply narrowing; the raw side sends the same commands with key names built
the way an application without the layer would (a prefix and a hash, no checks). A round is a
batch of LAYER_OPS operations awaited on one long-lived loop, as bp_app on this worker's logical
database (flushed by `redis_client`).

    pytest suites/betterprompts/benchmarks/test_redis_layer.py
HARNESS_BENCH_QUICK=1 runs fewer rounds; under xdist each test runs once, untimed, as a smoke test.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from betterprompts_db.data.redis import RedisLayer, get_many, request_hash
from betterprompts_db.data.redis.rate_limit import SLIDE
from betterprompts_db.data.redis.sessions import TOUCH
from suites.betterprompts.benchmarks._support import measure_layer_pair

CONCURRENCY = 8
KEYS = 50  # sessions, cache entries and rate-limit subjects the operations cycle through
BATCH = 50  # keys per get_many / MGET
PAYLOAD = hashlib.sha256(b"payload").hexdigest().encode() * 16  # 1 KiB, a modest API response
RATE_LIMIT, WINDOW_SECONDS = 10**9, 60.0  # never refuses: every check takes the admitting path


def measure(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    layer: Callable[[int], Awaitable[Any]],
    raw: Callable[[int], Awaitable[Any]],
) -> None:
    measure_layer_pair(benchmark, loop, layer, raw, concurrency=CONCURRENCY)


def cache_parts(count: int) -> list[list[str]]:
    tag = secrets.token_hex(4)
    return [["GET", f"/api/v1/bench/{tag}/{n}"] for n in range(count)]


def fill_cache(services: RedisLayer, loop: asyncio.AbstractEventLoop, parts: list[list[str]]) -> list[str]:
    """Store PAYLOAD under each request's cache entry; the entries' key names, in order."""

    async def fill() -> None:
        for p in parts:
            await services.api_cache.set(p, PAYLOAD)

    loop.run_until_complete(fill())
    return [services.api_cache.key(p) for p in parts]


def cache_prefix(services: RedisLayer, names: list[str], parts: list[list[str]]) -> str:
    """The API cache's key prefix, for raw code that builds keys the way an application without the
    layer would: prefix + sha256 of the request, no checks."""
    prefix = names[0].removesuffix(request_hash(parts[0]))
    assert [prefix + request_hash(p) for p in parts] == names
    return prefix


def raw_key(prefix: str, parts: list[str]) -> str:
    return prefix + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


@pytest.mark.benchmark(group="redis-session-check")
def test_session_check(benchmark: BenchmarkFixture, services: RedisLayer, loop: asyncio.AbstractEventLoop) -> None:
    """An authenticated request's session check: read the owner, then slide session and index."""
    client = services.store.client

    async def create() -> list[str]:
        return [(await services.sessions.create(f"user-{n}", {"tier": "pro"})).id for n in range(KEYS)]

    ids = loop.run_until_complete(create())
    keys = [services.store.key("session", session_id=s) for s in ids]
    touch = client.register_script(TOUCH)
    ttl = services.sessions.ttl
    assert services.store.key("user_sessions", user_id="user-0") == "bp:session:user:user-0"

    async def raw(i: int) -> Any:
        key = keys[i % KEYS]
        owner = await client.hget(key, "user_id")
        assert isinstance(owner, bytes)  # the None check SessionStore.get makes; this client never decodes
        index = f"bp:session:user:{owner.decode()}"
        return await touch(keys=[key, index], args=[owner, ttl, repr(time.time())])

    async def layer(i: int) -> Any:
        return await services.sessions.get(ids[i % KEYS])

    measure(benchmark, loop, layer, raw)
    assert loop.run_until_complete(layer(1))
    assert loop.run_until_complete(raw(1))


@pytest.mark.benchmark(group="redis-cache-get")
def test_cache_get(benchmark: BenchmarkFixture, services: RedisLayer, loop: asyncio.AbstractEventLoop) -> None:
    """API cache hits."""
    client = services.store.client
    parts = cache_parts(KEYS)
    names = fill_cache(services, loop, parts)

    prefix = cache_prefix(services, names, parts)

    async def raw(i: int) -> Any:
        return await client.get(raw_key(prefix, parts[i % KEYS]))

    async def layer(i: int) -> Any:
        return await services.api_cache.get(parts[i % KEYS])

    measure(benchmark, loop, layer, raw)
    assert loop.run_until_complete(layer(1)) == loop.run_until_complete(raw(1)) == PAYLOAD


@pytest.mark.benchmark(group="redis-cache-set")
def test_cache_set(benchmark: BenchmarkFixture, services: RedisLayer, loop: asyncio.AbstractEventLoop) -> None:
    """API cache writes (SET … EX with the contract's TTL)."""
    client = services.store.client
    parts = cache_parts(KEYS)
    names = [services.api_cache.key(p) for p in parts]
    prefix = cache_prefix(services, names, parts)
    ttl = services.api_cache.ttl

    async def raw(i: int) -> Any:
        return await client.set(raw_key(prefix, parts[i % KEYS]), PAYLOAD, ex=ttl)

    async def layer(i: int) -> Any:
        return await services.api_cache.set(parts[i % KEYS], PAYLOAD)

    measure(benchmark, loop, layer, raw)
    assert loop.run_until_complete(services.api_cache.get(parts[1])) == PAYLOAD


@pytest.mark.benchmark(group="redis-rate-limit")
def test_rate_limit(benchmark: BenchmarkFixture, services: RedisLayer, loop: asyncio.AbstractEventLoop) -> None:
    """A sliding-window check that admits: the same Lua script through the same client's script cache."""
    client = services.store.client
    limiter = services.rate_limiter("user", limit=RATE_LIMIT, window_seconds=WINDOW_SECONDS)
    subjects = [f"u{secrets.token_hex(4)}-{n}" for n in range(KEYS)]
    names = [limiter.key(s) for s in subjects]
    slide = client.register_script(SLIDE)
    window_ms = int(WINDOW_SECONDS * 1000)

    async def raw(i: int) -> Any:
        return await slide(keys=[names[i % KEYS]], args=[window_ms, RATE_LIMIT, secrets.token_hex(8)])

    async def layer(i: int) -> Any:
        return await limiter.check(subjects[i % KEYS])

    measure(benchmark, loop, layer, raw)
    assert loop.run_until_complete(limiter.check(subjects[1])).admitted


@pytest.mark.benchmark(group="redis-pipelined-batch")
def test_batch_get(benchmark: BenchmarkFixture, services: RedisLayer, loop: asyncio.AbstractEventLoop) -> None:
    """get_many of BATCH cache entries (one MGET) vs MGET of the same key names; an operation is one batch."""
    client = services.store.client
    parts = cache_parts(BATCH)
    names = fill_cache(services, loop, parts)
    keys = [{"request_hash": request_hash(p)} for p in parts]
    prefix = cache_prefix(services, names, parts)
    benchmark.extra_info["keys_per_op"] = BATCH

    async def raw(i: int) -> Any:
        return await client.mget([prefix + k["request_hash"] for k in keys])

    async def layer(i: int) -> Any:
        return await get_many(services.store, "api_cache", keys)

    measure(benchmark, loop, layer, raw)
    assert loop.run_until_complete(layer(0)) == loop.run_until_complete(raw(0)) == [PAYLOAD] * BATCH
