"""The bare Redis probe start-up uses instead of redis-py: the same answers as redis-py gives, a
refusal told from a server not ready yet, and no hang on something that is not Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis

from harness.provision import Endpoints, redis_probe
from harness.provision.embedded import free_port
from harness.provision.endpoints import with_credentials
from harness.provision.waiting import redis_answers


@pytest.fixture
async def admin(endpoints: Endpoints) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(endpoints.redis)
    yield client
    await client.aclose()


async def test_the_run_s_redis_serves_and_its_version_is_the_one_redis_py_reads(
    endpoints: Endpoints, admin: aioredis.Redis
) -> None:
    assert redis_probe.bare(endpoints.redis)
    assert await redis_probe.serves(endpoints.redis)
    assert await redis_answers(endpoints.redis)
    assert await redis_probe.version(endpoints.redis) == (await admin.info("server"))["redis_version"]


async def test_a_wrong_password_is_a_refusal_not_a_server_still_starting(endpoints: Endpoints) -> None:
    parts = urlsplit(endpoints.redis)
    if not parts.password:
        pytest.skip("the run's Redis takes no password (no ACL file in force): nothing to get wrong")
    with pytest.raises(redis_probe.AuthenticationError, match="WRONGPASS"):
        await redis_probe.serves(with_credentials(endpoints.redis, parts.username, "not-" + parts.password))


async def test_a_user_who_may_not_ask_info_gets_no_version(endpoints: Endpoints, admin: aioredis.Redis) -> None:
    user, password = f"probe-{secrets.token_hex(4)}", secrets.token_hex(8)
    await admin.acl_setuser(user, enabled=True, passwords=[f"+{password}"], commands=["+ping"])
    try:
        limited = with_credentials(endpoints.redis, user, password)
        assert await redis_probe.serves(limited)
        assert await redis_probe.version(limited) is None
    finally:
        await admin.acl_deluser(user)


async def test_a_closed_port_and_a_server_that_is_not_redis_fail_as_worth_retrying(endpoints: Endpoints) -> None:
    postgres = urlsplit(endpoints.postgres)
    not_redis = f"redis://{postgres.hostname}:{postgres.port}/0"
    with pytest.raises((EOFError, redis_probe.ResponseError)):
        await redis_probe.serves(not_redis, timeout=10)
    with pytest.raises(ConnectionRefusedError):
        await redis_probe.serves(f"redis://127.0.0.1:{free_port()}/0", timeout=10)


async def test_a_server_that_never_answers_is_given_up_on_after_the_timeout() -> None:
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TimeoutError):
            await redis_probe.serves(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    finally:
        server.close()


def test_only_plain_redis_urls_are_asked_bare() -> None:
    assert redis_probe.bare("redis://u:p@127.0.0.1:6379/0")
    assert not redis_probe.bare("rediss://u:p@127.0.0.1:6379/0")
    assert not redis_probe.bare("unix:///run/redis.sock")
