"""What start-up asks a Redis server, whether it serves us and which version it is, over a bare
connection: redis-py's import costs more CPU than starting the server does, and a run whose tests
never use Redis never loads it. Plain `redis://` URLs only (TLS and sockets go through redis-py);
RESP2 replies of the kinds these commands get: simple strings, errors and bulk strings."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote, urlsplit

BARE_SCHEMES = ("redis",)


class AuthenticationError(Exception):
    """The server answered and refused us for good (a wrong user or password); named as redis-py's."""


class ResponseError(Exception):
    """The server answered with an error that is not a refusal (still loading, NOPERM)."""


def bare(url: str) -> bool:
    """Whether `url` can be asked over a bare connection."""
    return urlsplit(url).scheme in BARE_SCHEMES


def _command(*words: str) -> bytes:
    encoded = [word.encode() for word in words]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(word), word) for word in encoded)


async def _reply(reader: asyncio.StreamReader) -> bytes:
    line = (await reader.readuntil(b"\r\n"))[:-2]
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest
    if kind == b"-":
        refused = rest.startswith((b"WRONGPASS", b"NOAUTH", b"ERR invalid password", b"ERR AUTH"))
        raise (AuthenticationError if refused else ResponseError)(rest.decode(errors="replace"))
    if kind == b"$":
        size = int(rest)
        return b"" if size < 0 else (await reader.readexactly(size + 2))[:-2]
    raise ResponseError(f"unexpected reply {line[:40]!r}")


async def ask(url: str, *command: str, timeout: float = 2.0) -> bytes:
    """`command`'s reply from the server at `url`, logged in as the URL's user (AUTH first)."""
    parts = urlsplit(url)
    requests = []
    if parts.password is not None:
        user = [unquote(parts.username)] if parts.username else []
        requests.append(_command("AUTH", *user, unquote(parts.password)))
    requests.append(_command(*command))
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 6379), timeout)
    try:
        writer.write(b"".join(requests))
        replies = [await asyncio.wait_for(_reply(reader), timeout) for _ in requests]
        return replies[-1]
    finally:
        writer.close()


async def serves(url: str, timeout: float = 2.0) -> bool:
    return await ask(url, "PING", timeout=timeout) == b"PONG"


async def version(url: str, timeout: float = 2.0) -> str | None:
    """`redis_version` from INFO server; None when INFO is not the user's to ask (NOPERM)."""
    try:
        info = (await ask(url, "INFO", "server", timeout=timeout)).decode()
    except ResponseError:
        return None
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key == "redis_version":
            return value.strip()
    return None
