"""A generated mutant: one plausible mistake about one object of the migrated catalog or of the
Redis artifacts, applied without editing the project (a post-migration statement, or a mutated
copy of one Redis artifact that the run's settings point at)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Source = Literal["hand", "sql", "redis", "python"]
# The settings field a Redis mutant replaces with its mutated copy.
RedisArtifact = Literal["redis_config", "redis_acl", "redis_keyspace"]


@dataclass(frozen=True)
class GeneratedMutant:
    """`id` is stable across runs (kind, object, change); `key` names what the mutant changes, as a
    path: two mutants conflict (cannot be applied together) when one key is a prefix of the other.
    `mentions` are the names, most specific first, that select the test files asked to judge it."""

    id: str
    source: Source
    kind: str
    object: str
    description: str
    sql: str = ""
    artifact: RedisArtifact | None = None
    text: str = ""
    mentions: tuple[str, ...] = ()
    key: tuple[str, ...] = field(default=())

    def conflicts_with(self, other: GeneratedMutant) -> bool:
        if self.artifact is not None or other.artifact is not None:
            return True  # a Redis artifact is replaced whole: one mutant per copy
        shorter = min(len(self.key), len(other.key))
        return self.key[:shorter] == other.key[:shorter]
