"""Short-lived data (verification codes, one-time tokens) under `bp:temp:{purpose}:{id}`, with the
contract's TTL unless a shorter or longer one is asked for."""

from __future__ import annotations

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.redis.replies import as_bytes
from betterprompts_db.data.redis.store import RedisStore
from betterprompts_db.data.redis.translate import translated


class TempStore:
    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._redis = store.client
        self.ttl = store.ttl("temp")

    def key(self, purpose: str, id: str) -> str:
        return self._store.key("temp", purpose=purpose, id=id)

    async def put(self, purpose: str, id: str, value: bytes, *, ttl: int | None = None) -> None:
        ttl = self.ttl if ttl is None else ttl
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
            raise InvalidInput("ttl", f"must be a positive whole number of seconds, got {ttl!r}")
        key = self.key(purpose, id)
        with translated(key):
            await self._redis.set(key, value, ex=ttl)

    async def get(self, purpose: str, id: str) -> bytes | None:
        key = self.key(purpose, id)
        with translated(key):
            return as_bytes(await self._redis.get(key))

    async def take(self, purpose: str, id: str) -> bytes | None:
        """Read and delete in one command (GETDEL): a verification code is good exactly once."""
        key = self.key(purpose, id)
        with translated(key):
            return as_bytes(await self._redis.getdel(key))

    async def delete(self, purpose: str, id: str) -> bool:
        key = self.key(purpose, id)
        with translated(key):
            return bool(await self._redis.delete(key))
