"""Redis half of the data layer: `open_redis(config, keyspace)` gives a `RedisLayer` whose
services share one pooled `redis.asyncio` client and build every key through the keyspace
contract. Driver errors never escape: they arrive as `betterprompts_db.data.errors`. The caches (API,
predictions) treat Redis being out as a miss; everything else raises."""

from __future__ import annotations

from dataclasses import dataclass

from betterprompts_db.data.health import Health
from betterprompts_db.data.redis.api_cache import ApiCache, request_hash
from betterprompts_db.data.redis.batch import get_many, set_many
from betterprompts_db.data.redis.config import RedisConfig
from betterprompts_db.data.redis.flags import FeatureFlag, FeatureFlags, rollout_bucket
from betterprompts_db.data.redis.prediction_cache import PredictionCache, input_hash, normalise_input
from betterprompts_db.data.redis.rate_limit import RateDecision, RateLimiter
from betterprompts_db.data.redis.sessions import Session, SessionStore
from betterprompts_db.data.redis.store import PoolStats, RedisStore
from betterprompts_db.data.redis.temp import TempStore
from betterprompts_db.keyspace import Keyspace

__all__ = [
    "ApiCache", "FeatureFlag", "FeatureFlags", "Health", "PoolStats", "PredictionCache", "RateDecision",
    "RateLimiter", "RedisConfig", "RedisLayer", "RedisStore", "Session", "SessionStore", "TempStore", "get_many",
    "input_hash", "normalise_input", "open_redis", "request_hash", "rollout_bucket", "set_many",
]  # fmt: skip


@dataclass(frozen=True)
class RedisLayer:
    store: RedisStore
    sessions: SessionStore
    api_cache: ApiCache
    predictions: PredictionCache
    flags: FeatureFlags
    temp: TempStore

    def rate_limiter(self, scope: str, limit: int, window_seconds: float) -> RateLimiter:
        """A limiter for one scope (user, api_key, ip); cheap, so one per limit is fine."""
        return RateLimiter(self.store, scope=scope, limit=limit, window_seconds=window_seconds)

    async def close(self) -> None:
        await self.store.close()


def open_redis(config: RedisConfig, keyspace: Keyspace) -> RedisLayer:
    """The services on one pool; connections open on first use, so this never waits on Redis."""
    store = RedisStore(config, keyspace)
    return RedisLayer(
        store, SessionStore(store), ApiCache(store), PredictionCache(store), FeatureFlags(store), TempStore(store)
    )
