"""User sessions: a `session` hash per session and a `user_sessions` set per user, so "log out
everywhere" can find them all.

Invariant: a live session is always in its user's index, and the index lives at least as long as
any of its sessions (every write that sets a session's TTL resets the index's to the full TTL in
the same transaction). An index may still name sessions that have since expired; revoking all
removes those too.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.exceptions import WatchError
from redis.typing import EncodableT

from betterprompts_db.data.errors import Conflict, InvalidInput
from betterprompts_db.data.redis.replies import as_bytes, as_text
from betterprompts_db.data.redis.store import RedisStore
from betterprompts_db.data.redis.translate import translated

RESERVED = frozenset({"user_id", "created_at", "last_seen"})
WATCH_ATTEMPTS = 10

# Slide a session and its index together, and only while the session exists with that owner: a
# plain EXPIRE/HSET from the client could resurrect a session revoked a moment earlier. The
# caller reads the owner first (one round trip more): a script may touch only the keys it is
# given, and the index key depends on the owner.
TOUCH = """
if redis.call('HGET', KEYS[1], 'user_id') ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return redis.call('HGETALL', KEYS[1])
"""


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    created_at: datetime
    last_seen: datetime
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_hash(cls, session_id: str, raw: Mapping[bytes, bytes]) -> Session:
        values = {k.decode(): v.decode() for k, v in raw.items()}
        return cls(
            id=session_id,
            user_id=values.pop("user_id"),
            created_at=datetime.fromtimestamp(float(values.pop("created_at")), UTC),
            last_seen=datetime.fromtimestamp(float(values.pop("last_seen")), UTC),
            attributes=values,
        )


class SessionStore:
    """Create, read (sliding the 24 h expiry), refresh and revoke sessions."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._redis = store.client
        self.ttl = store.ttl("session")
        self._touch = self._redis.register_script(TOUCH)

    def _keys(self, session_id: str, user_id: str) -> tuple[str, str]:
        return self._store.key("session", session_id=session_id), self._store.key("user_sessions", user_id=user_id)

    async def create(self, user_id: str, attributes: Mapping[str, str] | None = None) -> Session:
        """A new session for `user_id` with optional attributes (tier, user agent, …)."""
        attributes = dict(attributes or {})
        if clash := RESERVED & attributes.keys():
            raise InvalidInput("attributes", f"{sorted(clash)} are reserved session fields")
        session_id = secrets.token_urlsafe(32)
        key, index = self._keys(session_id, user_id)
        now = time.time()
        fields: dict[EncodableT, EncodableT] = {"user_id": user_id, "created_at": repr(now), "last_seen": repr(now)}
        fields.update(attributes)
        with translated(key):
            async with self._redis.pipeline(transaction=True) as tx:
                tx.hset(key, mapping=fields)
                tx.expire(key, self.ttl)
                tx.sadd(index, session_id)
                tx.expire(index, self.ttl)
                await tx.execute()
        stamp = datetime.fromtimestamp(now, UTC)
        return Session(session_id, user_id, stamp, stamp, attributes)

    async def get(self, session_id: str) -> Session | None:
        """The session, its expiry pushed back to the full TTL (sliding); None when gone."""
        key = self._store.key("session", session_id=session_id)
        with translated(key):
            owner = as_bytes(await self._redis.hget(key, "user_id"))
            if owner is None:
                return None
            _, index = self._keys(session_id, owner.decode())
            raw = await self._touch(keys=[key, index], args=[owner, self.ttl, repr(time.time())])
        if not raw:
            return None
        return Session.from_hash(session_id, dict(zip(raw[::2], raw[1::2], strict=True)))

    async def refresh(self, session_id: str) -> bool:
        """Push the session's expiry back to the full TTL; False when it no longer exists."""
        return await self.get(session_id) is not None

    async def revoke(self, session_id: str) -> bool:
        """End one session; False when it did not exist."""
        key = self._store.key("session", session_id=session_id)
        with translated(key):
            owner = as_bytes(await self._redis.hget(key, "user_id"))
            if owner is None:
                return False
            _, index = self._keys(session_id, owner.decode())
            async with self._redis.pipeline(transaction=True) as tx:
                tx.delete(key)
                tx.srem(index, session_id)
                deleted, _ = await tx.execute()
        return bool(deleted)

    async def revoke_all(self, user_id: str) -> int:
        """End every session of `user_id` ("log out everywhere"); returns how many were live.

        WATCH on the index makes a session created meanwhile abort and retry the transaction,
        so it is either revoked too or survives with its index entry intact."""
        index = self._store.key("user_sessions", user_id=user_id)
        with translated(index):
            async with self._redis.pipeline(transaction=True) as tx:
                for _ in range(WATCH_ATTEMPTS):
                    try:
                        await tx.watch(index)
                        members = await tx.smembers(index)
                        keys = [self._store.key("session", session_id=as_text(m)) for m in members]
                        tx.multi()  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.multi untyped
                        if keys:
                            tx.delete(*keys)
                        tx.delete(index)
                        results = await tx.execute()
                        return int(results[0]) if keys else 0
                    except WatchError:
                        continue
        raise Conflict(f"{index}: sessions kept changing; revoking all gave up after {WATCH_ATTEMPTS} attempts")
