"""What the Python mutants of the Redis services showed the suites did not pin: every error and
outage log names its key, TTL and percentage bounds at their edges, the values a new session
holds and returns, the transactions that make a session's writes one step, and health's deadline
and latency."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis

from betterprompts_db.data.errors import Conflict, InvalidInput, PermissionDenied, PoolExhausted, Timeout, Unavailable
from betterprompts_db.data.redis import (
    ApiCache,
    FeatureFlag,
    RedisConfig,
    RedisLayer,
    RedisStore,
    get_many,
    open_redis,
    request_hash,
    rollout_bucket,
    set_many,
)
from betterprompts_db.data.redis import sessions as sessions_module
from betterprompts_db.data.redis.replies import as_text
from betterprompts_db.keyspace import Keyspace, Namespace
from harness.errors import ConfigurationError
from harness.provision import Endpoints
from harness.provision.endpoints import with_credentials
from harness.pytest_plugin import PrivateEnvironment
from suites.betterprompts.conftest import HangGuards
from suites.betterprompts.data_redis.conftest import as_app_user

PARTS = ("GET", "/v1/templates")
CONNECTION_SETUP = {"AUTH", "HELLO", "SELECT", "CLIENT"}  # what a new pooled connection sends first
UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused at once


@pytest_asyncio.fixture
async def unreachable(keyspace: Keyspace) -> AsyncIterator[RedisLayer]:
    """The services on a Redis that refuses every connection."""
    layer = open_redis(RedisConfig(UNREACHABLE, connect_timeout=0.5, reconnect_attempts=0), keyspace)
    yield layer
    await layer.close()


@pytest_asyncio.fixture
async def reader(app_url: str, keyspace: Keyspace, hang_guards: HangGuards) -> AsyncIterator[RedisLayer]:
    """The services as bp_readonly, whom the ACL refuses every write."""
    url = with_credentials(app_url, "bp_readonly", keyspace.users["bp_readonly"].dev_password)
    layer = open_redis(hang_guards.redis(url), keyspace)
    yield layer
    await layer.close()


def outage_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "betterprompts_db.data.redis"]


async def computed() -> bytes:
    return b"computed"


async def test_an_outage_is_a_cache_miss_logged_with_the_key_the_cache_and_the_driver_were_working_on(
    unreachable: RedisLayer, caplog: pytest.LogCaptureFixture
) -> None:
    api_key, ml_key = unreachable.api_cache.key(PARTS), unreachable.predictions.key("write a poem")
    calls: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: unreachable.api_cache.get(PARTS), api_key),
        (lambda: unreachable.api_cache.set(PARTS, b"v"), api_key),
        (lambda: unreachable.api_cache.get_or_compute(PARTS, computed), api_key),
        (lambda: unreachable.predictions.get("write a poem"), ml_key),
        (lambda: unreachable.predictions.set("write a poem", b"p"), ml_key),
    ]
    for call, key in calls:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="betterprompts_db.data.redis"):
            assert await call() in (None, b"computed")
        (message,) = outage_logs(caplog)
        assert message.startswith(f"cache {key} treated as a miss: {key}: Redis is unreachable"), message


async def test_a_cache_write_the_acl_refuses_raises_naming_the_key(reader: RedisLayer) -> None:
    calls: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: reader.api_cache.set(PARTS, b"v"), reader.api_cache.key(PARTS)),
        (lambda: reader.predictions.set("write a poem", b"p"), reader.predictions.key("write a poem")),
    ]
    for call, key in calls:
        with pytest.raises(PermissionDenied) as refused:
            await call()
        assert str(refused.value).startswith(f"{key}: the ACL user may not do this")


@pytest.mark.faults
async def test_a_holder_that_loses_redis_while_computing_logs_the_value_key_and_then_the_lock_key(
    private_environment: PrivateEnvironment, keyspace: Keyspace, caplog: pytest.LogCaptureFixture
) -> None:
    """The holder stores its value and releases its lock after computing; Redis gone by then
    makes both misses, each logged with its own key."""
    layer = open_redis(RedisConfig(as_app_user(private_environment.endpoints.redis, keyspace)), keyspace)
    key, lock = layer.api_cache.key(PARTS), layer.api_cache.lock_key(PARTS)

    async def compute_then_lose_redis() -> bytes:
        await private_environment.faults.redis.stop()
        return b"computed"

    try:
        with caplog.at_level(logging.WARNING, logger="betterprompts_db.data.redis"):
            assert await layer.api_cache.get_or_compute(PARTS, compute_then_lose_redis) == b"computed"
    finally:
        await layer.close()
    stored, released = outage_logs(caplog)
    assert stored.startswith(f"cache {key} treated as a miss: {key}: Redis is unreachable"), stored
    assert released.startswith(f"cache {lock} treated as a miss: {lock}: Redis is unreachable"), released


async def test_every_service_error_names_the_key_or_namespace_it_was_working_on(unreachable: RedisLayer) -> None:
    store = unreachable.store
    session_key = store.key("session", session_id="s1")
    index = store.key("user_sessions", user_id="u1")
    limited = store.key("rate_limit", scope="user", subject="u1")
    calls: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: unreachable.temp.put("verify", "u1", b"1"), unreachable.temp.key("verify", "u1")),
        (lambda: unreachable.temp.get("verify", "u1"), unreachable.temp.key("verify", "u1")),
        (lambda: unreachable.temp.take("verify", "u1"), unreachable.temp.key("verify", "u1")),
        (lambda: unreachable.temp.delete("verify", "u1"), unreachable.temp.key("verify", "u1")),
        (lambda: unreachable.flags.set(FeatureFlag("beta")), unreachable.flags.key("beta")),
        (lambda: unreachable.flags.get("beta"), unreachable.flags.key("beta")),
        (lambda: unreachable.flags.delete("beta"), unreachable.flags.key("beta")),
        (lambda: unreachable.sessions.get("s1"), session_key),
        (lambda: unreachable.sessions.revoke("s1"), session_key),
        (lambda: unreachable.sessions.revoke_all("u1"), index),
        (lambda: unreachable.rate_limiter("user", 5, 60).check("u1"), limited),
        (lambda: get_many(store, "temp", [{"purpose": "verify", "id": "u1"}]), "temp"),
        (lambda: set_many(store, "temp", [({"purpose": "verify", "id": "u1"}, b"1")]), "temp"),
    ]  # fmt: skip
    for call, named in calls:
        with pytest.raises(Unavailable) as failed:
            await call()
        assert str(failed.value).startswith(f"{named}: Redis is unreachable"), failed.value


async def test_a_batch_takes_a_ttl_of_its_own_down_to_one_second(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    await set_many(services.store, "temp", [({"purpose": "invite", "id": "a"}, b"1")], ttl=30)
    assert 25 <= await redis_client.ttl(services.temp.key("invite", "a")) <= 30
    await set_many(services.store, "temp", [({"purpose": "invite", "id": "b"}, b"1")], ttl=1)
    assert await redis_client.pttl(services.temp.key("invite", "b")) <= 1000


@pytest.mark.parametrize("ttl", [0, -5, True, "10", 2.5], ids=repr)
async def test_a_batch_refuses_a_ttl_that_is_not_a_positive_whole_number_saying_which(
    services: RedisLayer, redis_client: aioredis.Redis, ttl: Any
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await set_many(services.store, "temp", [({"purpose": "invite", "id": "a"}, b"1")], ttl=ttl)
    assert (refused.value.field, refused.value.reason) == (
        "ttl", f"must be a positive whole number of seconds, got {ttl!r}"
    )  # fmt: skip
    assert await redis_client.dbsize() == 0


async def test_a_batch_on_a_namespace_of_hashes_says_which_namespace_and_what_it_holds(services: RedisLayer) -> None:
    with pytest.raises(InvalidInput) as refused:
        await set_many(services.store, "session", [({"session_id": "s1"}, b"1")])
    assert refused.value.reason == "session holds hashs; batch helpers handle strings"


async def test_temp_data_lives_down_to_one_second_and_refuses_a_bool_for_a_ttl(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    await services.temp.put("verify", "u1", b"1", ttl=1)
    assert await redis_client.pttl(services.temp.key("verify", "u1")) <= 1000
    for ttl in (True, 0):
        with pytest.raises(InvalidInput) as refused:
            await services.temp.put("verify", "u2", b"1", ttl=ttl)
        assert refused.value.reason == f"must be a positive whole number of seconds, got {ttl!r}"


def test_a_flag_rolls_out_by_its_own_name_so_two_flags_admit_different_users() -> None:
    users = [f"user-{n}" for n in range(200)]
    for name in ("beta", "dark_mode"):
        flag = FeatureFlag(name, enabled=True, rollout_percentage=50)
        assert [flag.enabled_for(u) for u in users] == [rollout_bucket(name, u) < 50 for u in users]
    beta, dark = (FeatureFlag(n, enabled=True, rollout_percentage=50) for n in ("beta", "dark_mode"))
    assert [beta.enabled_for(u) for u in users] != [dark.enabled_for(u) for u in users]


@pytest.mark.parametrize("percentage", [True, 101, -1, 50.0], ids=repr)
def test_a_rollout_percentage_is_a_whole_number_from_0_to_100_and_the_refusal_shows_it(percentage: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        FeatureFlag("beta", rollout_percentage=percentage)
    assert (refused.value.field, refused.value.reason) == (
        "rollout_percentage", f"must be a whole number 0-100, got {percentage!r}"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "field", "reason"),
    [
        ({"scope": "planet"}, "scope", "'planet' is not one of"),
        ({"limit": True}, "limit", "must be a positive whole number, got True"),
        ({"limit": 0}, "limit", "must be a positive whole number, got 0"),
        ({"window_seconds": 0.0009999}, "window_seconds", "must be at least 0.001, got 0.0009999"),
    ],
)
def test_a_limiter_refuses_a_bad_scope_limit_or_window_saying_what_it_got(
    services: RedisLayer, arguments: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.rate_limiter(**{"scope": "user", "limit": 5, "window_seconds": 60, **arguments})
    assert refused.value.field == field
    assert refused.value.reason.startswith(reason)


def test_a_limiter_admits_a_window_of_exactly_one_millisecond(services: RedisLayer) -> None:
    assert services.rate_limiter("user", 5, 0.001).window_seconds == 0.001


async def test_a_new_session_returns_and_stores_what_it_was_given(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    session = await services.sessions.create("u1", {"tier": "pro"})
    assert (session.user_id, session.attributes, session.created_at) == ("u1", {"tier": "pro"}, session.last_seen)
    key = services.store.key("session", session_id=session.id)
    assert await redis_client.hget(key, "last_seen") == await redis_client.hget(key, "created_at")
    found = await services.sessions.get(session.id)
    assert found is not None
    assert found.id == session.id


async def test_session_attributes_may_not_overwrite_the_reserved_fields_and_the_refusal_names_them(
    services: RedisLayer,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await services.sessions.create("u1", {"user_id": "u2", "tier": "pro"})
    assert refused.value.reason == "['user_id'] are reserved session fields"


async def commands_of(redis_client: aioredis.Redis, operation: Awaitable[object]) -> list[str]:
    """The commands Redis ran on `redis_client`'s database while `operation` ran, as MONITOR
    shows them (name and arguments), leaving out what a new pooled connection sends first."""
    db = int(redis_client.connection_pool.connection_kwargs["db"])
    marker = f"end-of-operation-{time.monotonic_ns()}"
    seen: list[str] = []
    async with redis_client.monitor() as monitor:
        await operation
        await redis_client.echo(marker)
        while True:
            command = await asyncio.wait_for(monitor.next_command(), 30)
            if command["db"] != db or command["client_type"] == "lua":
                continue
            if command["command"] == f"ECHO {marker}":
                return seen
            if command["command"].split(" ", 1)[0].upper() not in CONNECTION_SETUP:
                seen.append(command["command"])


def names(commands: list[str]) -> list[str]:
    return [command.split(" ", 1)[0].upper() for command in commands]


async def test_creating_and_revoking_a_session_each_write_in_one_multi_exec_transaction(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    created: list[Any] = []

    async def create() -> None:
        created.append(await services.sessions.create("u1"))

    assert names(await commands_of(redis_client, create())) == ["MULTI", "HSET", "EXPIRE", "SADD", "EXPIRE", "EXEC"]
    revoked = await commands_of(redis_client, services.sessions.revoke(created[0].id))
    assert names(revoked) == ["HGET", "MULTI", "DEL", "SREM", "EXEC"]


async def test_a_session_id_carries_32_random_bytes(services: RedisLayer) -> None:
    ids = {(await services.sessions.create("u1")).id for _ in range(5)}
    assert len(ids) == 5
    assert {len(i) for i in ids} == {43}  # 32 bytes in unpadded URL-safe base64


async def test_a_waiter_polls_with_doubling_delays_capped_at_50_ms_not_in_a_busy_loop(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    """Another caller holds the lock for 300 ms: doubling from 5 ms, capped at 50 ms, the waiter
    asks about ten times; delays that shrank instead would ask hundreds of times."""
    cache = services.api_cache
    await redis_client.set(cache.lock_key(PARTS), "the-holder", px=10_000)

    async def holder_finishes() -> None:
        await asyncio.sleep(0.3)  # the holder's computation
        await redis_client.set(cache.key(PARTS), b"held", ex=60)
        await redis_client.delete(cache.lock_key(PARTS))

    async def wait_for_the_holder() -> None:
        results = await asyncio.gather(cache.get_or_compute(PARTS, computed), holder_finishes())
        assert results[0] == b"held"

    polls = [c for c in await commands_of(redis_client, wait_for_the_holder()) if c.startswith("SET bp:cache:lock:")]
    assert 3 <= len(polls) <= 20, len(polls)


async def test_a_waiter_the_acl_refuses_the_lock_raises_naming_the_lock(reader: RedisLayer) -> None:
    lock = reader.api_cache.lock_key(PARTS)
    with pytest.raises(PermissionDenied) as refused:
        await reader.api_cache.get_or_compute(PARTS, computed)
    assert str(refused.value).startswith(f"{lock}: the ACL user may not do this")


async def test_health_check_gives_up_after_one_second_by_default_and_says_it_timed_out(
    keyspace: Keyspace,
) -> None:
    """A server that accepts connections and never answers: only the health deadline ends the PING."""
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    config = RedisConfig(f"redis://127.0.0.1:{port}/0", socket_timeout=5, connect_timeout=5)
    try:
        async with RedisStore(config, keyspace) as store:
            health = await store.health_check()
    finally:
        silent.close()
    assert health.ok is False
    assert health.error is not None
    assert health.error.startswith("TimeoutError")
    assert 1000 <= health.latency_ms < 1800, health.latency_ms  # not the 2 s of a doubled default


async def test_health_latency_is_the_pings_round_trip_in_milliseconds(services: RedisLayer) -> None:
    started = time.perf_counter()
    health = await services.store.health_check(deadline=30)
    wall_ms = (time.perf_counter() - started) * 1000
    assert health.ok is True
    assert wall_ms / 2 <= health.latency_ms <= wall_ms


async def test_a_waiter_gives_up_after_its_own_wait_timeout_not_the_locks_ttl(
    services: RedisLayer, redis_client: aioredis.Redis
) -> None:
    await redis_client.set(services.api_cache.lock_key(PARTS), "the-holder", px=10_000)
    impatient = ApiCache(services.store, wait_timeout=0.2)
    assert impatient.wait_timeout == 0.2
    started = time.perf_counter()
    assert await impatient.get_or_compute(PARTS, computed) == b"computed"
    assert time.perf_counter() - started < 5  # the lock's TTL is 10 s


@pytest.mark.parametrize("wait_timeout", [0, -1])
def test_a_wait_timeout_must_be_positive_and_the_refusal_shows_it(services: RedisLayer, wait_timeout: float) -> None:
    with pytest.raises(InvalidInput) as refused:
        ApiCache(services.store, wait_timeout=wait_timeout)
    assert (refused.value.field, refused.value.reason) == ("wait_timeout", f"must be positive, got {wait_timeout}")


def test_key_parts_that_are_not_strings_are_refused_saying_what_they_must_be() -> None:
    with pytest.raises(InvalidInput) as refused:
        request_hash([])
    assert (refused.value.field, refused.value.reason) == ("key_parts", "must be a non-empty sequence of strings")


async def test_a_string_namespace_without_a_ttl_in_seconds_is_written_without_expiry(
    app_url: str, keyspace: Keyspace, redis_client: aioredis.Redis, hang_guards: HangGuards
) -> None:
    windowed = Namespace(pattern="bp:draft:{id}", type="string", ttl="window", description="a test namespace")
    contract = keyspace.model_copy(update={"namespaces": {**keyspace.namespaces, "draft": windowed}})
    layer = open_redis(hang_guards.redis(app_url), contract)
    try:
        await set_many(layer.store, "draft", [({"id": "d1"}, b"1")])
    finally:
        await layer.close()
    assert await redis_client.ttl("bp:draft:d1") == -1


def test_a_namespace_without_a_fixed_ttl_has_none_to_give_and_says_which(services: RedisLayer) -> None:
    with pytest.raises(ConfigurationError) as refused:
        services.store.ttl("feature_flag")
    assert str(refused.value) == "namespace feature_flag has no fixed TTL in the keyspace contract (None)"


@pytest.mark.parametrize("url", ["redis://h:6379/0", "rediss://h:6380/0", "unix:///run/redis.sock"])
def test_a_config_takes_redis_rediss_and_unix_urls_and_no_reconnects(url: str) -> None:
    assert RedisConfig(url, reconnect_attempts=0).reconnect_attempts == 0


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"url": "http://h"}, "url", "must be a redis://, rediss:// or unix:// URL"),
        ({"max_connections": 0}, "max_connections", "must be at least 1, got 0"),
        ({"connect_timeout": 0}, "connect_timeout", "must be positive, got 0"),
        ({"reconnect_attempts": -1}, "reconnect_attempts", "must be 0 or more, got -1"),
    ],
)
def test_a_config_refusal_says_what_the_field_must_be_and_what_it_got(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        RedisConfig(**{"url": "redis://h:6379/0", **overrides})
    assert (refused.value.field, refused.value.reason) == (field, reason)


@pytest_asyncio.fixture
async def silent_port() -> AsyncIterator[tuple[int, list[asyncio.StreamWriter]]]:
    """A port that accepts connections and never answers, and the connections it accepted."""
    accepted: list[asyncio.StreamWriter] = []
    server = await asyncio.start_server(lambda reader, writer: accepted.append(writer), "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], accepted
    server.close()
    for writer in accepted:
        writer.close()


async def test_a_silent_server_costs_one_socket_timeout_on_one_connection_never_a_retry(
    silent_port: tuple[int, list[asyncio.StreamWriter]], keyspace: Keyspace
) -> None:
    """Reconnects retry a dropped connection, never a timeout: a slow server is not asked twice."""
    port, accepted = silent_port
    layer = open_redis(RedisConfig(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3, reconnect_attempts=3), keyspace)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(10):  # a client without the socket timeout would wait forever
            with pytest.raises(Timeout):
                await layer.temp.get("verify", "u1")
    finally:
        await layer.close()
    assert time.perf_counter() - started < 3
    assert len(accepted) == 1


async def test_a_server_that_never_accepts_costs_one_connect_timeout(keyspace: Keyspace) -> None:
    """A listener whose backlog is full drops new connection attempts: only the connect timeout ends them."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    backlog = [socket.socket() for _ in range(3)]
    for filler in backlog:
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
    config = RedisConfig(f"redis://127.0.0.1:{port}/0", connect_timeout=0.3, socket_timeout=5, reconnect_attempts=0)
    layer = open_redis(config, keyspace)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(20):
            with pytest.raises(Timeout):
                await layer.temp.get("verify", "u1")
    finally:
        await layer.close()
        for held in [*backlog, listener]:
            held.close()
    assert time.perf_counter() - started < 2.5


async def test_a_full_pool_gives_up_after_the_configured_pool_timeout(
    app_url: str, keyspace: Keyspace, hang_guards: HangGuards
) -> None:
    layer = open_redis(hang_guards.redis(app_url, max_connections=1, pool_timeout=0.2), keyspace)
    try:
        connection = await layer.store.client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        started = time.perf_counter()
        with pytest.raises(PoolExhausted):
            await layer.temp.get("code", "u1")
        assert time.perf_counter() - started < 5  # redis-py's own default is 20 s
        await layer.store.client.connection_pool.release(connection)
    finally:
        await layer.close()


async def test_a_connection_idle_past_the_health_check_interval_is_pinged_before_reuse(
    app_url: str, keyspace: Keyspace, redis_client: aioredis.Redis, hang_guards: HangGuards
) -> None:
    layer = open_redis(hang_guards.redis(app_url, health_check_interval=0.1), keyspace)

    async def two_reads_apart() -> None:
        await layer.temp.get("verify", "u1")
        await asyncio.sleep(0.3)  # the connection sits idle past the interval
        await layer.temp.get("verify", "u1")

    try:
        commands = names(await commands_of(redis_client, two_reads_apart()))
    finally:
        await layer.close()
    assert commands[-2:] == ["PING", "GET"], commands


@pytest.mark.faults
async def test_a_frozen_redis_costs_a_pooled_connection_one_socket_timeout(
    private_environment: PrivateEnvironment, keyspace: Keyspace
) -> None:
    """A connection already open when Redis stops answering: its read waits out the socket timeout."""
    config = RedisConfig(as_app_user(private_environment.endpoints.redis, keyspace), socket_timeout=0.3)
    layer = open_redis(config, keyspace)
    try:
        await layer.temp.put("verify", "u1", b"1")  # opens the connection the next command reuses
        async with private_environment.faults.redis.paused():
            started = time.perf_counter()
            async with asyncio.timeout(10):  # without the socket timeout the read never ends
                with pytest.raises(Timeout):
                    await layer.temp.get("verify", "u1")
            assert time.perf_counter() - started < 3
    finally:
        await layer.close()


async def test_revoking_all_gives_up_naming_the_index_when_every_attempt_loses_its_watch(
    services: RedisLayer, redis_client: aioredis.Redis, endpoints: Endpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer adds a session to the index between WATCH and EXEC on every attempt."""
    await services.sessions.create("u1")
    index = services.store.key("user_sessions", user_id="u1")
    writer = redis.Redis.from_url(endpoints.redis_url(int(redis_client.connection_pool.connection_kwargs["db"])))
    intruders = itertools.count()  # each attempt reads every member, so each doubles the index

    def read_member_while_another_writes(value: bytes | str) -> str:
        writer.sadd(index, f"intruder-{next(intruders)}")  # the watched index changes before EXEC
        return as_text(value)

    monkeypatch.setattr(sessions_module, "as_text", read_member_while_another_writes)
    try:
        with pytest.raises(Conflict) as gave_up:
            await services.sessions.revoke_all("u1")
    finally:
        writer.close()
    assert str(gave_up.value) == f"{index}: sessions kept changing; revoking all gave up after 10 attempts"
