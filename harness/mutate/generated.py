"""A generated mutant: one plausible mistake about one object of the migrated catalog or of the
Redis artifacts, applied without editing the project (a post-migration statement, or a mutated
copy of one Redis artifact that the run's settings point at)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Source = Literal["hand", "sql", "redis", "python"]
# The settings field a Redis mutant replaces with its mutated copy.
RedisArtifact = Literal["redis_config", "redis_acl", "redis_keyspace"]
Edit = tuple[int, int, str]  # text[start:end] replaced


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
    edits: tuple[Edit, ...] = ()
    mentions: tuple[str, ...] = ()
    key: tuple[str, ...] = field(default=())

    def conflicts_with(self, other: GeneratedMutant) -> bool:
        """Whether the two cannot be applied together: SQL mutants whose keys nest, edits of one
        Redis artifact that overlap, or one of each (they are judged by different tests)."""
        if self.artifact is None and other.artifact is None:
            shorter = min(len(self.key), len(other.key))
            return self.key[:shorter] == other.key[:shorter]
        if self.artifact is None or other.artifact is None:
            return True
        if self.artifact != other.artifact:
            return False
        return any(a < d and c < b for a, b, _ in self.edits for c, d, _ in other.edits)


def apply_edits(text: str, mutants: list[GeneratedMutant]) -> str:
    """`text` with every edit of `mutants` (which must not overlap) applied."""
    for start, end, replacement in sorted((e for m in mutants for e in m.edits), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text
