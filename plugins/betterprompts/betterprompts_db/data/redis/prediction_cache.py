"""The intent-classifier prediction cache (1 h), keyed by sha256 of the normalised input, so
"Write  a Poem" and "write a poem " share one entry. A cache: Redis being out is a miss."""

from __future__ import annotations

import hashlib

from betterprompts_db.data.redis.degrade import or_miss
from betterprompts_db.data.redis.replies import as_bytes
from betterprompts_db.data.redis.store import RedisStore
from betterprompts_db.data.redis.translate import translated


def normalise_input(text: str) -> str:
    """Lower-cased, every run of whitespace collapsed to one space, trimmed."""
    return " ".join(text.lower().split())


def input_hash(text: str) -> str:
    return hashlib.sha256(normalise_input(text).encode()).hexdigest()


class PredictionCache:
    """Predictions as bytes (the caller serialises them) for the contract's TTL."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._redis = store.client
        self.ttl = store.ttl("ml_cache")

    def key(self, text: str) -> str:
        return self._store.key("ml_cache", input_hash=input_hash(text))

    async def get(self, text: str) -> bytes | None:
        key = self.key(text)
        return await or_miss(self._get(key), None, key)

    async def set(self, text: str, prediction: bytes) -> None:
        key = self.key(text)
        await or_miss(self._set(key, prediction), None, key)

    async def _get(self, key: str) -> bytes | None:
        with translated(key):
            return as_bytes(await self._redis.get(key))

    async def _set(self, key: str, prediction: bytes) -> None:
        with translated(key):
            await self._redis.set(key, prediction, ex=self.ttl)
