"""Redis for Locust: a sync redis-py pool per process, logged in as bp_app.

betterprompts_db.data.redis is asyncio, which cannot run inside Locust's gevent loop; these calls reuse its
Lua scripts, keys and TTLs (the keyspace contract), so sessions, rate windows and cache entries
behave as the application's do.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence

import redis

from betterprompts_db.data.redis.api_cache import request_hash
from betterprompts_db.data.redis.rate_limit import SLIDE
from betterprompts_db.data.redis.replies import as_bytes
from betterprompts_db.data.redis.sessions import TOUCH
from betterprompts_db.keyspace import Keyspace
from harness.errors import ConfigurationError

MAX_CONNECTIONS = 100  # the summary's Redis pool size
RATE_LIMIT, RATE_WINDOW_MS = 100, 60_000  # requests per user per window


class AppRedis:
    """Sessions, the per-user rate limit and the API cache, as the application uses them."""

    def __init__(self, url: str, keyspace: Keyspace, timeout: float) -> None:
        """`timeout`: seconds for waiting for a pooled connection, connecting, and each reply."""
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=timeout, socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )  # fmt: skip
        self.client = redis.Redis(connection_pool=pool)
        self.client.ping()  # wrong credentials fail here, at the start, not as failed requests
        self._keyspace = keyspace
        self._session_ttl = self._ttl("session")
        self._cache_ttl = self._ttl("api_cache")
        self._slide = self.client.register_script(SLIDE)
        self._touch = self.client.register_script(TOUCH)

    def _ttl(self, namespace: str) -> int:
        ttl = self._keyspace.namespace(namespace).ttl
        if not isinstance(ttl, int):
            raise ConfigurationError(f"keyspace namespace {namespace} needs a TTL in seconds, has {ttl!r}")
        return ttl

    def _session_keys(self, session_id: str, user_id: str) -> tuple[str, str]:
        return (
            self._keyspace.namespace("session").key(session_id=session_id),
            self._keyspace.namespace("user_sessions").key(user_id=user_id),
        )

    def close(self) -> None:
        self.client.close()

    def create_session(self, user_id: str) -> str:
        """A login: the session hash and the user's session index, with their TTLs, atomically."""
        session_id = secrets.token_urlsafe(32)
        key, index = self._session_keys(session_id, user_id)
        now = repr(time.time())
        with self.client.pipeline(transaction=True) as tx:
            tx.hset(key, mapping={"user_id": user_id, "created_at": now, "last_seen": now, "tier": "free"})
            tx.expire(key, self._session_ttl)
            tx.sadd(index, session_id)
            tx.expire(index, self._session_ttl)
            tx.execute()
        return session_id

    def check_session(self, session_id: str) -> bool:
        """An authenticated request: read the session and slide its expiry (and its index's)."""
        key = self._keyspace.namespace("session").key(session_id=session_id)
        owner = as_bytes(self.client.hget(key, "user_id"))
        if owner is None:
            return False
        _, index = self._session_keys(session_id, owner.decode())
        return bool(self._touch(keys=[key, index], args=[owner, self._session_ttl, repr(time.time())]))

    def admit(self, user_id: str) -> bool:
        """The sliding-window limit for one user's request; a refusal is an answer, not a failure."""
        key = self._keyspace.namespace("rate_limit").key(scope="user", subject=user_id)
        admitted, _, _ = self._slide(keys=[key], args=[RATE_WINDOW_MS, RATE_LIMIT, secrets.token_hex(8)])
        return bool(admitted)

    def cache_get(self, key_parts: Sequence[str]) -> bytes | None:
        return as_bytes(self.client.get(self._cache_key(key_parts)))

    def cache_set(self, key_parts: Sequence[str], value: bytes) -> None:
        self.client.set(self._cache_key(key_parts), value, ex=self._cache_ttl)

    def _cache_key(self, key_parts: Sequence[str]) -> str:
        return self._keyspace.namespace("api_cache").key(request_hash=request_hash(key_parts))
