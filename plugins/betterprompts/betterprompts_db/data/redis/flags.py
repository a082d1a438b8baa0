"""Feature flags: a `feature_flag` hash each (enabled, rollout percentage, allow-list).

`enabled` is the kill switch: off means off for everyone. When on, allow-listed users always get
the feature, and everyone else by a deterministic rollout: bucket = sha256(flag, user) mod 100,
admitted below the percentage. Python's `hash()` is salted per process, so it would give another
answer in every worker; sha256 gives the same one in every process, language and release, and
raising the percentage only ever adds users.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from redis.typing import EncodableT

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.redis.replies import as_text
from betterprompts_db.data.redis.store import RedisStore
from betterprompts_db.data.redis.translate import translated


def rollout_bucket(flag: str, user_id: str) -> int:
    """The user's stable bucket 0-99 for this flag (independent across flags)."""
    digest = hashlib.sha256(f"{flag}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


@dataclass(frozen=True)
class FeatureFlag:
    name: str
    enabled: bool = False
    rollout_percentage: int = 0
    allow_list: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        percentage = self.rollout_percentage
        if isinstance(percentage, bool) or not isinstance(percentage, int) or not 0 <= percentage <= 100:
            raise InvalidInput("rollout_percentage", f"must be a whole number 0-100, got {percentage!r}")

    def enabled_for(self, user_id: str) -> bool:
        if not self.enabled:
            return False
        return user_id in self.allow_list or rollout_bucket(self.name, user_id) < self.rollout_percentage


class FeatureFlags:
    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._redis = store.client

    def key(self, name: str) -> str:
        return self._store.key("feature_flag", name=name)

    async def set(self, flag: FeatureFlag) -> None:
        """Create or replace the flag (one HSET of every field: readers never see half of it)."""
        key = self.key(flag.name)
        fields: dict[EncodableT, EncodableT] = {
            "enabled": int(flag.enabled),
            "rollout_percentage": flag.rollout_percentage,
            "allow_list": json.dumps(sorted(flag.allow_list)),
        }
        with translated(key):
            await self._redis.hset(key, mapping=fields)

    async def get(self, name: str) -> FeatureFlag | None:
        key = self.key(name)
        with translated(key):
            raw = {as_text(k): as_text(v) for k, v in (await self._redis.hgetall(key)).items()}
        if not raw:
            return None
        return FeatureFlag(
            name=name,
            enabled=raw["enabled"] == "1",
            rollout_percentage=int(raw["rollout_percentage"]),
            allow_list=frozenset(json.loads(raw["allow_list"])),
        )

    async def delete(self, name: str) -> bool:
        key = self.key(name)
        with translated(key):
            return bool(await self._redis.delete(key))

    async def is_enabled(self, name: str, user_id: str) -> bool:
        """Whether `user_id` gets the feature; an unknown flag is off."""
        flag = await self.get(name)
        return flag is not None and flag.enabled_for(user_id)
