"""Sliding-window rate limiting on a sorted set of request times (ms), one per scope and subject.

One Lua script trims entries older than the window, counts, admits below the limit and sets the
key's TTL to the window, atomically, so N concurrent callers against a limit L admit exactly
min(N, L). Time is the server's (`TIME`), so clients with skewed clocks share one window. EVALSHA
with the script cache rather than a Redis FUNCTION: nothing to install or version on the server,
and the application user needs no FUNCTION LOAD; after a restart empties the cache, redis-py
reloads the script on NOSCRIPT. A limiter is not a cache: Redis being out raises Unavailable or
Timeout, and the caller chooses whether to fail open or closed.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from betterprompts_db.data.errors import InvalidInput, RateLimited
from betterprompts_db.data.redis.store import RedisStore
from betterprompts_db.data.redis.translate import translated

# KEYS[1] the request log; ARGV: window (ms), limit, a unique member for this request.
# Returns {admitted 0|1, remaining, retry_after_ms}.
SLIDE = """
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, math.max(1, math.ceil(tonumber(oldest[2]) + window - now))}
"""


@dataclass(frozen=True)
class RateDecision:
    admitted: bool
    remaining: int
    retry_after: float  # seconds until a request would be admitted; 0 when admitted


class RateLimiter:
    """At most `limit` requests per `window_seconds` for each subject of one scope (user, API
    key or IP)."""

    def __init__(self, store: RedisStore, *, scope: str, limit: int, window_seconds: float) -> None:
        namespace = store.namespace("rate_limit")
        if scope not in namespace.scopes:
            raise InvalidInput("scope", f"{scope!r} is not one of {namespace.scopes} for {namespace.pattern}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput("limit", f"must be a positive whole number, got {limit!r}")
        if not window_seconds * 1000 >= 1:
            raise InvalidInput("window_seconds", f"must be at least 0.001, got {window_seconds!r}")
        self._store = store
        self.scope = scope
        self.limit = limit
        self.window_seconds = window_seconds
        self._window_ms = math.ceil(window_seconds * 1000)
        self._slide = store.client.register_script(SLIDE)

    def key(self, subject: str) -> str:
        return self._store.key("rate_limit", scope=self.scope, subject=subject)

    async def check(self, subject: str) -> RateDecision:
        """Record the request if admitted; a refused request is not recorded."""
        key = self.key(subject)
        # a unique member, so two requests in one millisecond both count; reused by a
        # reconnect-retry of this same call, so a retry cannot count the request twice
        member = secrets.token_hex(8)
        with translated(key):
            admitted, remaining, retry_ms = await self._slide(keys=[key], args=[self._window_ms, self.limit, member])
        return RateDecision(bool(admitted), int(remaining), int(retry_ms) / 1000)

    async def check_or_raise(self, subject: str) -> RateDecision:
        """`check`, raising RateLimited (with `retry_after`) when the request is refused."""
        decision = await self.check(subject)
        if not decision.admitted:
            raise RateLimited(self.key(subject), self.limit, self.window_seconds, decision.retry_after)
        return decision
