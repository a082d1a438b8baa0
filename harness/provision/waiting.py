"""Poll a condition under a deadline; never sleep and hope."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import Awaitable, Callable

import asyncpg

from harness.errors import ProvisionError
from harness.provision import redis_probe
from harness.provision.endpoints import redact

# A server is asked every 20 ms: a doubling backoff (capped at 100 ms) let a server that was ready
# wait up to 100 ms more on every start (postgres takes 50-300 ms here).
POLL_SECONDS = 0.02
# Answers no retry can change: a wrong password or user, a database that does not exist.
POSTGRES_REFUSALS = (asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidCatalogNameError)


def _answers() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """The refusals, and the failures worth retrying, of the drivers loaded: redis-py's only once a
    check loaded it (the bare probe asks plain `redis://` servers: start-up never loads it)."""
    refusals: tuple[type[BaseException], ...] = (*POSTGRES_REFUSALS, redis_probe.AuthenticationError)
    transient: tuple[type[BaseException], ...] = (
        TimeoutError, OSError, EOFError, asyncpg.PostgresError, redis_probe.ResponseError
    )  # fmt: skip
    if "redis" in sys.modules:
        import redis.exceptions as redis_errors

        refusals += (redis_errors.AuthenticationError, redis_errors.AuthenticationWrongNumberOfArgsError)
        transient += (redis_errors.RedisError,)
    return refusals, transient


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, timeout: float) -> None:
    """Await `check()` until it is true; fail naming `what` once `timeout` seconds pass, or at once
    when the server refuses us for good (authentication, a missing database)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            if await check():
                return
        except Exception as exc:
            refusals, transient = _answers()
            if isinstance(exc, refusals):
                raise ProvisionError(f"{what} refused us: {type(exc).__name__}: {exc}") from exc
            if not isinstance(exc, transient):
                raise
            last = exc
        if time.monotonic() >= deadline:
            reason = f": {last}" if last else ""
            raise ProvisionError(f"timed out after {timeout:.0f}s waiting for {what}{reason}")
        await asyncio.sleep(POLL_SECONDS)


async def postgres_answers(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn, timeout=2)
    try:
        return bool(await conn.fetchval("SELECT 1", timeout=2) == 1)
    finally:
        await conn.close()


async def redis_answers(url: str) -> bool:
    if redis_probe.bare(url):
        return await redis_probe.serves(url)
    if "redis.asyncio" not in sys.modules:  # loaded in a thread: its import (tens of ms) must not
        # stall the event loop polling postgres meanwhile
        await asyncio.to_thread(importlib.import_module, "redis.asyncio")
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    finally:
        await client.aclose()


async def wait_until_serving(postgres_dsn: str, redis_url: str, timeout: float = 60.0) -> None:
    """Both servers answer a real query, checked concurrently."""
    await asyncio.gather(
        wait_for(lambda: postgres_answers(postgres_dsn), f"postgres at {redact(postgres_dsn)}", timeout),
        wait_for(lambda: redis_answers(redis_url), f"redis at {redact(redis_url)}", timeout),
    )
