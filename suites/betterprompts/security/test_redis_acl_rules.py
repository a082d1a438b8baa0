"""Each ACL user's rules as a contract, asked of the server's ACL itself: `ACL DRYRUN` (through the
admin connection) says whether a user may run a command on given keys and channels, and runs
nothing, so the table can name MONITOR, SHUTDOWN or SWAPDB on the shared server.

The expectations are the documented intent, not a reading of users.acl: bp_admin may do anything
on any key and channel; bp_app holds bp:* keys and channels and no @dangerous command but INFO
(health checks read it), of Lua only the script cache, no FUNCTION or FCALL (FCALL_RO included);
bp_readonly reads bp:* keys only, with no @dangerous command but INFO either (no KEYS, no CLIENT
LIST or KILL), and no channel. test_redis_acl.py checks the same users through real logins (SCAN,
RANDOMKEY, flushes, FUNCTION, the readonly user's writes); this table holds what it leaves out."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

ALLOWED, REFUSED = "allowed", "refused"
Table = dict[tuple[str, ...], str]

ADMIN: Table = {
    ("PUBLISH", "bp:events", "m"): ALLOWED,
    ("PUBLISH", "elsewhere:events", "m"): ALLOWED,
    ("SUBSCRIBE", "elsewhere:events"): ALLOWED,
    ("PSUBSCRIBE", "*"): ALLOWED,
    ("GET", "elsewhere:secret"): ALLOWED,
    ("CONFIG", "GET", "maxmemory"): ALLOWED,
    ("ACL", "LIST"): ALLOWED,
    ("INFO",): ALLOWED,
}

APP: Table = {
    # what the data layer and health checks issue
    ("GET", "bp:cache:api:h"): ALLOWED,
    ("HGETALL", "bp:session:s1"): ALLOWED,
    ("EVALSHA", "0" * 40, "1", "bp:cache:lock:h"): ALLOWED,
    ("INFO",): ALLOWED,
    ("INFO", "memory"): ALLOWED,
    ("PING",): ALLOWED,
    ("SELECT", "1"): ALLOWED,  # the suites' logins, one logical database per worker
    # its own channels, and no one else's
    ("PUBLISH", "bp:events", "m"): ALLOWED,
    ("SUBSCRIBE", "bp:events"): ALLOWED,
    ("PUBLISH", "elsewhere:events", "m"): REFUSED,
    ("SUBSCRIBE", "elsewhere:events"): REFUSED,
    ("PSUBSCRIBE", "*"): REFUSED,
    # Redis Functions, read-only calls too
    ("FCALL_RO", "bp_acl_absent", "0"): REFUSED,
    # @dangerous: the server's administration, other clients, persistence, replication
    ("MONITOR",): REFUSED,
    ("SHUTDOWN", "NOSAVE"): REFUSED,
    ("REPLICAOF", "NO", "ONE"): REFUSED,
    ("CLIENT", "KILL", "127.0.0.1:1"): REFUSED,
    ("CLIENT", "LIST"): REFUSED,
    ("CLIENT", "PAUSE", "1"): REFUSED,
    ("SAVE",): REFUSED,
    ("BGSAVE",): REFUSED,
    ("BGREWRITEAOF",): REFUSED,
    ("SWAPDB", "0", "1"): REFUSED,
    ("MIGRATE", "127.0.0.1", "6379", "bp:temp:x:y", "0", "1000"): REFUSED,
    ("RESTORE", "bp:temp:x:y", "0", "not a dump"): REFUSED,
    ("ACL", "SETUSER", "bp_app", "+@all"): REFUSED,
    ("ACL", "LIST"): REFUSED,
    ("SLOWLOG", "GET"): REFUSED,
    ("LATENCY", "RESET"): REFUSED,
    ("MODULE", "LIST"): REFUSED,
}

READONLY: Table = {
    # reads of bp:* keys, whatever their type
    ("GET", "bp:cache:api:h"): ALLOWED,
    ("HGETALL", "bp:session:s1"): ALLOWED,
    ("SMEMBERS", "bp:session:user:u1"): ALLOWED,
    ("ZRANGE", "bp:ratelimit:ip:i1", "0", "-1"): ALLOWED,
    ("TTL", "bp:temp:x:y"): ALLOWED,
    ("INFO",): ALLOWED,
    ("INFO", "memory"): ALLOWED,
    ("PING",): ALLOWED,
    ("SELECT", "1"): ALLOWED,
    # and of nothing else
    ("GET", "elsewhere:secret"): REFUSED,
    ("HGETALL", "elsewhere:secret"): REFUSED,
    ("EXISTS", "elsewhere:secret"): REFUSED,
    ("MGET", "bp:cache:api:h", "elsewhere:secret"): REFUSED,
    ("SUBSCRIBE", "bp:events"): REFUSED,
    # the @dangerous commands among @read and @connection
    ("KEYS", "bp:*"): REFUSED,
    ("SORT_RO", "bp:session:user:u1"): REFUSED,
    ("CLIENT", "LIST"): REFUSED,
    ("CLIENT", "KILL", "127.0.0.1:1"): REFUSED,
    ("CLIENT", "PAUSE", "1"): REFUSED,
    ("CLIENT", "UNPAUSE"): REFUSED,
}

CONTRACT = {"bp_admin": ADMIN, "bp_app": APP, "bp_readonly": READONLY}


async def dry_run(admin: aioredis.Redis, user: str, command: tuple[str, ...]) -> str:
    """What the ACL makes of `user` running `command`: allowed, refused, or the server's other word."""
    reply = await admin.execute_command("ACL", "DRYRUN", user, *command)  # type: ignore[no-untyped-call]
    text = reply.decode() if isinstance(reply, bytes) else str(reply)
    if reply is True or text == "OK":
        return ALLOWED
    if "no permissions" in text:
        return REFUSED
    return text


@pytest.mark.parametrize("user", ["bp_admin", "bp_app", "bp_readonly"])
async def test_each_user_may_run_exactly_what_its_role_allows(redis_client: aioredis.Redis, user: str) -> None:
    """Channels (PUBLISH, SUBSCRIBE), keys, INFO, FCALL_RO and the @dangerous commands."""
    table = CONTRACT[user]
    verdicts = {" ".join(command): await dry_run(redis_client, user, command) for command in table}
    assert verdicts == {" ".join(command): verdict for command, verdict in table.items()}
