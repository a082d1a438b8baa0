"""The shipped Redis artifacts: redis.conf and users.acl in force on the live server, and the
keyspace contract's namespaces."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from betterprompts_db.keyspace import Keyspace, load_keyspace
from harness.config import Settings
from harness.errors import ConfigurationError
from harness.provision import Endpoints
from harness.provision.endpoints import with_credentials
from harness.pytest_plugin import PrivateEnvironment
from harness.redis_config import live_config_mismatches

DAY, MINUTE = 86400, 60


@pytest.fixture(scope="module")
def keyspace(harness_settings: Settings) -> Keyspace:
    return load_keyspace(harness_settings.redis_keyspace)


def as_user(url: str, user: str | None, password: str | None) -> aioredis.Redis:
    return aioredis.Redis.from_url(with_credentials(url, user, password))


@pytest_asyncio.fixture
async def app_client(endpoints: Endpoints, keyspace: Keyspace) -> AsyncIterator[aioredis.Redis]:
    client = as_user(endpoints.redis, "bp_app", keyspace.users["bp_app"].dev_password)
    yield client
    await client.aclose()


async def test_the_live_server_runs_the_shipped_redis_conf(endpoints: Endpoints, harness_settings: Settings) -> None:
    assert await live_config_mismatches(endpoints.redis, harness_settings.redis_config) == []


async def test_the_live_server_runs_the_values_the_domain_requires(endpoints: Endpoints) -> None:
    """The values themselves, not only that the server runs the file: a weakened file would run too."""
    client = aioredis.Redis.from_url(endpoints.redis, decode_responses=True)
    try:
        live = {key: (await client.config_get(key))[key] for key in REQUIRED_SETTINGS}
    finally:
        await client.aclose()
    assert live == REQUIRED_SETTINGS


REQUIRED_SETTINGS = {"appendonly": "yes", "appendfsync": "everysec", "save": "900 1 300 10 60 10000",
              "stop-writes-on-bgsave-error": "yes", "rdbchecksum": "yes", "maxmemory-policy": "noeviction",
              "maxmemory": str(256 * 1024 * 1024), "timeout": "300", "tcp-keepalive": "60",
              "slowlog-log-slower-than": "10000", "latency-monitor-threshold": "100",
              # the file names backups and restores look for, compressed snapshots
              "dbfilename": "dump.rdb", "appendfilename": "appendonly.aof", "rdbcompression": "yes",
              # the domain asks for protected mode; a listen queue for bursts of new connections
              "protected-mode": "yes", "tcp-backlog": "511",
              # slow queries kept for inspection; startup, shutdown and persistence events logged
              "slowlog-max-len": "128", "loglevel": "notice"}  # fmt: skip


async def test_a_slow_command_is_kept_in_the_slowlog(endpoints: Endpoints) -> None:
    """Slow-query tracking (the domain's health checks): a command slower than the threshold is
    kept where `SLOWLOG GET` finds it."""
    client = aioredis.Redis.from_url(endpoints.redis, decode_responses=True)
    marker = f"slow-{secrets.token_hex(4)}"
    busy = (
        "local t = redis.call('TIME') repeat local n = redis.call('TIME')"
        " until (n[1] - t[1]) * 1e6 + (n[2] - t[2]) > 30000 return ARGV[1]"
    )  # 30 ms of work, three times the 10 ms threshold
    try:
        assert await client.eval(busy, 0, marker) == marker
        entries = await client.slowlog_get(128)
    finally:
        await client.aclose()
    assert any(marker.encode() in bytes(entry["command"]) for entry in entries), entries[:3]


async def test_memory_is_bounded_and_never_evicts_sessions_silently(endpoints: Endpoints) -> None:
    client = aioredis.Redis.from_url(endpoints.redis, decode_responses=True)
    try:
        config = await client.config_get("maxmemory*")
        assert int(str(config["maxmemory"])) > 0
        assert config["maxmemory-policy"] == "noeviction"
    finally:
        await client.aclose()


@pytest.mark.parametrize("command", [("KEYS", "*"), ("CONFIG", "GET", "maxmemory"), ("DEBUG", "SLEEP", "0")])
async def test_the_application_user_is_refused_dangerous_commands(
    app_client: aioredis.Redis, command: tuple[str, ...]
) -> None:
    # DEBUG is also off server-wide (enable-debug-command no), which Redis checks first
    with pytest.raises(ResponseError, match=r"no permissions to run|DEBUG command not allowed"):
        await app_client.execute_command(*command)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("command", ["FLUSHALL", "FLUSHDB"])
async def test_the_application_user_cannot_flush(private_environment: PrivateEnvironment, command: str) -> None:
    """On servers of the test's own: were the ACL wrong, the flush must not hit other workers."""
    keyspace = load_keyspace(Settings().redis_keyspace)
    url = private_environment.endpoints.redis
    app = as_user(url, "bp_app", keyspace.users["bp_app"].dev_password)
    try:
        await app.set("bp:temp:test:survivor", "1")
        with pytest.raises(NoPermissionError):
            await app.execute_command(command)  # type: ignore[no-untyped-call]
        assert await app.get("bp:temp:test:survivor") == b"1"
    finally:
        await app.aclose()


async def test_the_application_user_is_confined_to_bp_keys(app_client: aioredis.Redis) -> None:
    await app_client.set("bp:temp:acl:own", "1", ex=MINUTE)
    with pytest.raises(NoPermissionError, match="no permissions to access"):
        await app_client.set("elsewhere", "1")


async def test_the_readonly_user_reads_but_cannot_write(
    endpoints: Endpoints, keyspace: Keyspace, app_client: aioredis.Redis
) -> None:
    await app_client.set("bp:temp:acl:shared", "v", ex=MINUTE)
    reader = as_user(endpoints.redis, "bp_readonly", keyspace.users["bp_readonly"].dev_password)
    try:
        assert await reader.get("bp:temp:acl:shared") == b"v"
        with pytest.raises(NoPermissionError):
            await reader.set("bp:temp:acl:shared", "w")
    finally:
        await reader.aclose()


async def test_the_default_user_is_disabled(endpoints: Endpoints) -> None:
    anonymous = as_user(endpoints.redis, None, None)
    try:
        with pytest.raises((AuthenticationError, ResponseError)):
            await anonymous.set("bp:temp:acl:anon", "1")
    finally:
        await anonymous.aclose()


def test_the_acl_file_holds_the_contracts_passwords_only_as_hashes(
    harness_settings: Settings, keyspace: Keyspace
) -> None:
    acl = harness_settings.redis_acl.read_text()
    for name, user in keyspace.users.items():
        digest = hashlib.sha256(user.dev_password.encode()).hexdigest()
        assert f"user {name} on #{digest}" in acl
        assert user.dev_password not in acl


def test_the_contract_sets_the_summarys_ttls(keyspace: Keyspace) -> None:
    ttl = {name: ns.ttl for name, ns in keyspace.namespaces.items()}
    assert ttl == {
        "session": DAY,
        "user_sessions": DAY,
        "api_cache": 5 * MINUTE,
        "api_cache_lock": 10,
        "ml_cache": 60 * MINUTE,
        "rate_limit": "window",
        "feature_flag": None,
        "temp": 10 * MINUTE,
    }  # fmt: skip  (secondary keys too: a lock or index TTL is a contract)
    assert all(ns.pattern.startswith("bp:") for ns in keyspace.namespaces.values())


def test_keys_are_built_only_from_plain_tokens(keyspace: Keyspace) -> None:
    session = keyspace.namespace("session")
    assert session.key(session_id="3f2a") == "bp:session:3f2a"
    with pytest.raises(ConfigurationError, match="not a plain token"):
        session.key(session_id="x:bp:flag:admin")
    with pytest.raises(ConfigurationError, match="needs"):
        session.key(user_id="1")
    with pytest.raises(ConfigurationError, match="scope"):
        keyspace.namespace("rate_limit").key(scope="planet", subject="1")
    with pytest.raises(ConfigurationError, match="no namespace"):
        keyspace.namespace("nope")


async def test_contract_keys_live_with_their_type_and_ttl(app_client: aioredis.Redis, keyspace: Keyspace) -> None:
    session = keyspace.namespace("session")
    key = session.key(session_id="contract-check")
    assert isinstance(session.ttl, int)
    await app_client.hset(key, mapping={"user_id": "u1"})
    await app_client.expire(key, session.ttl)
    assert await app_client.type(key) == session.type.encode()
    assert 0 < await app_client.ttl(key) <= session.ttl
    await app_client.delete(key)
