"""The Redis ACL users hold only what the application uses: bp_app and bp_readonly, logged in
with their dev passwords, are refused (NOPERM) every command that reaches keys outside bp:* or
empties or rewrites what every client of the server relies on, and keep what the data layer
issues. SELECT stays theirs (the harness logs them in on one logical database per worker): see
the users' comment in schema/redis/keyspace.toml."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from redis.exceptions import NoPermissionError, ResponseError
from redis.typing import EncodableT

from betterprompts_db.data.redis.api_cache import RELEASE
from betterprompts_db.keyspace import Keyspace, load_keyspace
from harness.config import Settings
from harness.provision import Endpoints
from harness.provision.endpoints import with_credentials
from harness.pytest_plugin import PrivateEnvironment

Login = Callable[[str], aioredis.Redis]
OUTSIDE = "elsewhere:secret"  # a key of another tenant of the server: bp_admin writes it
PROBE_LIBRARY = "#!lua name=bp_acl_probe\nredis.register_function('bp_acl_probe', function() return 1 end)"


@pytest.fixture(scope="module")
def keyspace(harness_settings: Settings) -> Keyspace:
    return load_keyspace(harness_settings.redis_keyspace)


def as_user(url: str, user: str, keyspace: Keyspace) -> aioredis.Redis:
    return aioredis.Redis.from_url(with_credentials(url, user, keyspace.users[user].dev_password))


@pytest_asyncio.fixture
async def login(endpoints: Endpoints, redis_client: aioredis.Redis, keyspace: Keyspace) -> AsyncIterator[Login]:
    """`login(user)`: a client as that ACL user on the logical database `redis_client` flushed for
    this test; every client is closed after it."""
    url = endpoints.redis_url(int(redis_client.connection_pool.connection_kwargs["db"]))
    clients: list[aioredis.Redis] = []

    def connect(user: str) -> aioredis.Redis:
        clients.append(as_user(url, user, keyspace))
        return clients[-1]

    yield connect
    for client in clients:
        await client.aclose()


async def answer(client: aioredis.Redis, *command: EncodableT) -> str:
    """`NOPERM` when the ACL refuses `command`; otherwise what the server made of it."""
    try:
        reply = await client.execute_command(*command)  # type: ignore[no-untyped-call]
    except NoPermissionError:
        return "NOPERM"
    except ResponseError as exc:
        return f"refused otherwise: {exc}"
    return f"ran: {reply!r}"


@pytest.mark.parametrize("user", ["bp_app", "bp_readonly"])
@pytest.mark.parametrize(
    "command", [("SCAN", "0"), ("SCAN", "0", "MATCH", "elsewhere:*"), ("RANDOMKEY",)], ids=" ".join
)
async def test_no_application_user_can_list_keys_outside_bp(
    redis_client: aioredis.Redis, login: Login, user: str, command: tuple[str, ...]
) -> None:
    """Key patterns confine commands that name keys; SCAN and RANDOMKEY name none and would hand
    out every key of the database, so the users may not run them at all."""
    await redis_client.set(OUTSIDE, "1")
    with pytest.raises(NoPermissionError, match=f"no permissions to run the '{command[0].lower()}' command"):
        await login(user).execute_command(*command)  # type: ignore[no-untyped-call]


# Arguments the server would reject anyway (no such library, no valid dump, no script running):
# were the ACL wrong, the shared server would answer with an error and change nothing. The
# refusal being NOPERM is what proves the ACL.
@pytest.mark.parametrize(
    "command",
    [("FUNCTION", "LOAD", "not a library"), ("FUNCTION", "DELETE", "bp_acl_absent"),
     ("FUNCTION", "RESTORE", "not a dump"), ("FUNCTION", "DUMP"), ("FCALL", "bp_acl_absent", "0"),
     ("SCRIPT", "KILL"), ("SCRIPT", "DEBUG", "NO"), ("CONFIG", "GET", "maxmemory"), ("KEYS", "*")],
    ids=" ".join,
)  # fmt: skip
async def test_the_application_user_cannot_manage_server_code_or_configuration(
    login: Login, command: tuple[str, ...]
) -> None:
    """The data layer runs Lua through the script cache (SCRIPT LOAD, EVALSHA): Redis Functions,
    the script debugger and killing another client's script are not its business."""
    with pytest.raises(NoPermissionError, match="no permissions to run"):
        await login("bp_app").execute_command(*command)  # type: ignore[no-untyped-call]


async def test_the_application_user_cannot_flush_keys_scripts_or_functions(
    private_environment: PrivateEnvironment, keyspace: Keyspace
) -> None:
    """On servers of the test's own: were the ACL wrong, each flush would empty what every other
    client of the server relies on."""
    url = private_environment.endpoints.redis
    admin, app = aioredis.Redis.from_url(url), as_user(url, "bp_app", keyspace)
    try:
        await app.set("bp:temp:acl:survivor", "1")
        sha = await app.script_load(RELEASE)
        await admin.function_load(PROBE_LIBRARY)
        flushes = [("FLUSHALL",), ("FLUSHDB",), ("SCRIPT", "FLUSH"), ("FUNCTION", "FLUSH")]
        answers = {" ".join(command): await answer(app, *command) for command in flushes}
        assert answers == dict.fromkeys(answers, "NOPERM")
        assert await app.get("bp:temp:acl:survivor") == b"1"
        assert await admin.script_exists(sha) == [True]
        assert await admin.fcall("bp_acl_probe", 0) == 1
    finally:
        await app.aclose()
        await admin.aclose()


async def test_the_acl_refuses_debug_to_the_application_user(redis_client: aioredis.Redis, login: Login) -> None:
    """The server refuses DEBUG before it asks the ACL (enable-debug-command no), so a login never
    sees the ACL's refusal: ACL DRYRUN asks the ACL directly."""
    with pytest.raises(ResponseError, match="DEBUG command not allowed"):
        await login("bp_app").execute_command("DEBUG", "SLEEP", "0")  # type: ignore[no-untyped-call]
    verdict = await redis_client.execute_command("ACL", "DRYRUN", "bp_app", "DEBUG", "SLEEP", "0")  # type: ignore[no-untyped-call]
    assert b"no permissions to run the 'debug' command" in verdict


@pytest.mark.parametrize(
    "command",
    [("SET", "bp:temp:acl:ro", "1"), ("DEL", "bp:temp:acl:ro"), ("HSET", "bp:session:acl", "user_id", "u1"),
     ("EXPIRE", "bp:temp:acl:ro", "1"), ("GETDEL", "bp:temp:acl:ro"), ("SCRIPT", "LOAD", "return 1"),
     ("EVAL", "return 1", "0"), ("FUNCTION", "LOAD", "not a library"), ("PUBLISH", "bp:acl", "m"),
     ("FLUSHDB",)],
    ids=" ".join,
)  # fmt: skip
async def test_the_readonly_user_cannot_write(login: Login, command: tuple[str, ...]) -> None:
    with pytest.raises(NoPermissionError, match="no permissions to run"):
        await login("bp_readonly").execute_command(*command)  # type: ignore[no-untyped-call]


async def test_the_users_keep_what_the_data_layer_issues(login: Login) -> None:
    """SCRIPT LOAD and EVALSHA (redis-py reloads a script on NOSCRIPT, as after a restart), and
    the reader's reads of what the application wrote."""
    app, reader = login("bp_app"), login("bp_readonly")
    await app.hset("bp:session:acl", mapping={"user_id": "u1"})
    await app.set("bp:api_cache_lock:acl", "token", ex=60)
    sha = await app.script_load(RELEASE)
    assert await app.evalsha(sha, 1, "bp:api_cache_lock:acl", "token") == 1
    assert await reader.hgetall("bp:session:acl") == {b"user_id": b"u1"}
    assert await reader.exists("bp:api_cache_lock:acl") == 0
