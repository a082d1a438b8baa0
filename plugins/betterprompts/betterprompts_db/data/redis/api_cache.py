"""The API response cache (5 min): get/set and cache-aside with stampede protection.

`get_or_compute`: on a miss exactly one caller recomputes; it holds `api_cache_lock` (SET NX PX,
released only by its own token), and the others poll under a deadline for the value it stores.
Acquiring the lock and re-reading the value go in one round trip, in that order, so a caller
that takes the lock just after a holder stored and released it sees the value instead of
computing again. A holder that dies leaves a lock that expires (the contract's 10 s); the next
poll takes it over. A waiter past its deadline computes for itself (and stores nothing: the
holder will). Redis being out is a miss (see `degrade`): the caller computes directly.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable, Sequence

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.redis.degrade import OUTAGES, note_outage, or_miss
from betterprompts_db.data.redis.replies import as_bytes
from betterprompts_db.data.redis.store import RedisStore
from betterprompts_db.data.redis.translate import translated

Compute = Callable[[], Awaitable[bytes]]
FIRST_POLL, LAST_POLL = 0.005, 0.05  # seconds between polls: doubling, capped

# Delete the lock only if this caller still holds it: after an expiry it may be someone else's.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def request_hash(key_parts: Sequence[str]) -> str:
    """sha256 of the parts, JSON-encoded so no choice of separators can make two requests collide."""
    if isinstance(key_parts, str) or not key_parts or not all(isinstance(p, str) for p in key_parts):
        raise InvalidInput("key_parts", "must be a non-empty sequence of strings")
    return hashlib.sha256(json.dumps(list(key_parts)).encode()).hexdigest()


class ApiCache:
    """Serialised API responses (bytes: the caller chooses the encoding) for the contract's TTL.

    `wait_timeout` (default: the lock's TTL, by when a dead holder's lock has expired) bounds
    how long a caller waits for another's computation before computing for itself."""

    def __init__(self, store: RedisStore, *, wait_timeout: float | None = None) -> None:
        self._store = store
        self._redis = store.client
        self.ttl = store.ttl("api_cache")
        self.lock_ttl = store.ttl("api_cache_lock")
        self.wait_timeout = self.lock_ttl if wait_timeout is None else wait_timeout
        if self.wait_timeout <= 0:
            raise InvalidInput("wait_timeout", f"must be positive, got {self.wait_timeout}")
        self._release = self._redis.register_script(RELEASE)

    def key(self, key_parts: Sequence[str]) -> str:
        return self._store.key("api_cache", request_hash=request_hash(key_parts))

    def lock_key(self, key_parts: Sequence[str]) -> str:
        return self._store.key("api_cache_lock", request_hash=request_hash(key_parts))

    async def get(self, key_parts: Sequence[str]) -> bytes | None:
        key = self.key(key_parts)
        return await or_miss(self._get(key), None, key)

    async def set(self, key_parts: Sequence[str], value: bytes) -> None:
        key = self.key(key_parts)
        await or_miss(self._set(key, value), None, key)

    async def get_or_compute(self, key_parts: Sequence[str], compute: Compute) -> bytes:
        """The cached value, else `compute()`'s, computed by one caller at a time per key."""
        key, lock = self.key(key_parts), self.lock_key(key_parts)
        token = secrets.token_hex(16)
        try:
            cached, holding = await self._cached_or_lock(key, lock, token)
        except OUTAGES as exc:
            note_outage(key, exc)
            return await compute()
        if cached is not None:
            return cached
        try:
            value = await compute()
            if holding:
                await or_miss(self._set(key, value), None, key)
            return value
        finally:
            if holding:
                await or_miss(self._unlock(lock, token), None, lock)

    async def _cached_or_lock(self, key: str, lock: str, token: str) -> tuple[bytes | None, bool]:
        """(value, False) on a hit; (None, True) once this caller holds the lock; (None, False)
        when the wait passed its deadline."""
        cached = await self._get(key)
        if cached is not None:
            return cached, False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        delay = FIRST_POLL
        while True:
            with translated(lock):
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.set(lock, token, nx=True, px=self.lock_ttl * 1000)
                    pipe.get(key)
                    acquired, cached = await pipe.execute()
            if cached is not None:
                if acquired:
                    await self._unlock(lock, token)
                return cached, False
            if acquired:
                return None, True
            if loop.time() >= deadline:
                return None, False
            await asyncio.sleep(delay)  # the poll interval: the value or a free lock is what we wait for
            delay = min(delay * 2, LAST_POLL)

    async def _get(self, key: str) -> bytes | None:
        with translated(key):
            return as_bytes(await self._redis.get(key))

    async def _set(self, key: str, value: bytes) -> None:
        with translated(key):
            await self._redis.set(key, value, ex=self.ttl)

    async def _unlock(self, lock: str, token: str) -> None:
        with translated(lock):
            await self._release(keys=[lock], args=[token])
