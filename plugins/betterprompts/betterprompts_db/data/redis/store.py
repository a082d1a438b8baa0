"""The RedisStore every service shares: one pooled `redis.asyncio` client (hiredis parses replies
when installed, as the `redis[hiredis]` dependency ensures), the keyspace contract, health and pool
statistics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.health import Health
from betterprompts_db.data.redis.config import RedisConfig
from betterprompts_db.keyspace import Keyspace, Namespace
from harness.errors import ConfigurationError


@dataclass(frozen=True)
class PoolStats:
    in_use: int
    idle: int
    max_size: int

    @property
    def available(self) -> int:
        """Connections a caller could take now without waiting (idle ones and room to open more)."""
        return self.max_size - self.in_use


class RedisStore:
    """A connection pool and the keyspace contract; services build every key through `key()`."""

    def __init__(self, config: RedisConfig, keyspace: Keyspace) -> None:
        self.config = config
        self.keyspace = keyspace
        self._pool = aioredis.BlockingConnectionPool.from_url(
            config.url,
            max_connections=config.max_connections,
            timeout=config.pool_timeout,
            socket_timeout=config.socket_timeout,
            socket_connect_timeout=config.connect_timeout,
            health_check_interval=config.health_check_interval,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), config.reconnect_attempts, (RedisConnectionError,)),
        )
        self.client = aioredis.Redis.from_pool(self._pool)
        """The raw client, for this package's services: callers outside go through a service."""

    async def __aenter__(self) -> RedisStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.client.aclose()

    def namespace(self, name: str) -> Namespace:
        return self.keyspace.namespace(name)

    def key(self, namespace: str, **parts: str) -> str:
        """The contract's key for `parts`; a part that is not a plain token is the caller's bad
        input (InvalidInput naming the part), so no value can reach another namespace."""
        return self._compose(self.namespace(namespace), parts)

    def keys(self, namespace: str, many: Sequence[Mapping[str, str]]) -> list[str]:
        """`key` for each mapping of parts, the namespace looked up once and, where it can, all
        parts checked at once."""
        ns = self.namespace(namespace)
        fast = ns.plain_keys(many)
        return fast if fast is not None else [self._compose(ns, parts) for parts in many]

    @staticmethod
    def _compose(ns: Namespace, parts: Mapping[str, str]) -> str:
        if refused := ns.refusal(parts):
            raise InvalidInput(*refused)
        return ns.compose(parts)

    def ttl(self, namespace: str) -> int:
        """The contract's TTL in seconds for a namespace that has a fixed one."""
        ttl = self.namespace(namespace).ttl
        if not isinstance(ttl, int):
            raise ConfigurationError(f"namespace {namespace} has no fixed TTL in the keyspace contract ({ttl!r})")
        return ttl

    async def health_check(self, deadline: float = 1.0) -> Health:
        """`PING` through the pool within `deadline` seconds; reports a failure instead of raising it."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(deadline):
                await self.client.ping()
        except Exception as exc:  # health reports any failure instead of raising it
            return Health(False, (time.perf_counter() - started) * 1000, f"{type(exc).__name__}: {exc}")
        return Health(True, (time.perf_counter() - started) * 1000)

    def stats(self) -> PoolStats:
        # redis-py's public counter (get_connection_count, 8.x only) speaks OpenTelemetry
        # attributes; the pool's own two collections are simpler and exist in 5.x too
        return PoolStats(
            in_use=len(self._pool._in_use_connections),
            idle=len(self._pool._available_connections),
            max_size=self._pool.max_connections,
        )
