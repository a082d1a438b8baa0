"""A profile's whole world as rows per table, generated in memory before anything is loaded."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from uuid import UUID

from betterprompts_db.data.postgres.records import RECORDS, Embedding, columns_of
from betterprompts_db.seed.analytics import build_analytics
from betterprompts_db.seed.catalogue import catalogue_created_at, intent_pattern_rows, template_rows
from betterprompts_db.seed.history import History, HistoryWriter
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.library import build_library
from betterprompts_db.seed.passwords import bcrypt_cost
from betterprompts_db.seed.people import People
from betterprompts_db.seed.profiles import Profile, World, load_profile
from betterprompts_db.seed.reference import Reference, load_reference
from betterprompts_db.seed.vectors import ClusterSpace
from betterprompts_db.settings import DEFAULT_BCRYPT_COST

R = TypeVar("R")


@dataclass(frozen=True)
class Table(Generic[R]):
    """Rows for one table, as the data layer's records of it (`RECORDS`, whose fields are the columns
    loaded), keyed by their `id`; and the tables they reference."""

    qualified: str
    rows: Sequence[R]
    depends_on: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return columns_of(RECORDS[self.qualified])

    @property
    def schema(self) -> str:
        return self.qualified.split(".")[0]

    @property
    def name(self) -> str:
        return self.qualified.split(".")[1]


@dataclass(frozen=True)
class Dataset:
    world: World
    profile: Profile
    tables: tuple[Table[Any], ...]

    def counts(self) -> dict[str, int]:
        return {t.qualified: len(t.rows) for t in self.tables}

    def table(self, qualified: str) -> Table[Any]:
        return next(t for t in self.tables if t.qualified == qualified)


def build_dataset(seeds_dir: Path, profile_name: str, scale: float = 1.0, cost: int = DEFAULT_BCRYPT_COST) -> Dataset:
    """Profile `profile_name` at `scale`, from the files in `seeds_dir`; bcrypt at `cost`."""
    world, profile = load_profile(seeds_dir, profile_name, scale)
    reference = load_reference(seeds_dir)
    people = People(world, profile, reference, bcrypt_cost(cost))
    users = people.build()
    accounts = {key: user.id for key, user in people.by_account.items()}
    history = HistoryWriter(world, profile, reference, users).write()
    library = build_library(world, profile, reference.vocabulary, history)
    analytics = build_analytics(world, profile, reference.vocabulary, users, history, library)
    uses = Counter(t for row in history.rows for t in row.techniques_used)
    users_table = ("auth.users",)
    tables = (
        Table("auth.users", [u.record for u in users]),
        # the HNSW index build takes longest of all: first in line for a connection
        Table("prompts.embeddings", embedding_rows(world, reference, history), users_table),
        Table("auth.sessions", [s for u in users for s in u.sessions], users_table),
        Table("auth.api_keys", [k for u in users for k in u.api_keys], users_table),
        Table("auth.user_preferences", [u.preferences for u in users if u.preferences], users_table),
        Table("prompts.templates", template_rows(world, reference, accounts, uses), users_table),
        Table("prompts.intent_patterns", intent_pattern_rows(world, reference, accounts), users_table),
        Table("prompts.history", history.rows, ("auth.users", "auth.sessions")),
        Table("prompts.saved_prompts", library.saved_prompts, ("prompts.history",)),
        Table("prompts.collections", library.collections, users_table),
        Table("prompts.collection_prompts", library.collection_prompts,
              ("prompts.collections", "prompts.saved_prompts")),
        Table("analytics.user_activity", analytics.user_activity, ("auth.sessions",)),
        Table("analytics.api_metrics", analytics.api_metrics, ("auth.api_keys",)),
        Table("analytics.technique_effectiveness", analytics.technique_effectiveness),
        Table("analytics.daily_stats", analytics.daily_stats),
    )  # fmt: skip
    return Dataset(world, profile, tables)


def embedding_rows(world: World, reference: Reference, history: History) -> list[Embedding]:
    """Templates and intent patterns all; the history rows the profile embeds. Topic cluster in metadata."""
    space = ClusterSpace(world.random_seed, world.embedding_clusters, world.embedding_dimension)
    intents = list(reference.intents)
    groups = world.embedding_clusters // len(intents)
    seed, model = world.random_seed, world.embedding_model
    rows: list[Embedding] = []

    def add(
        source: str, stream: int, clusters: list[int], entries: list[tuple[UUID, UUID | None, str | None, dt.datetime]]
    ) -> None:
        for cluster, vector, (source_id, user_id, intent, created) in zip(
            clusters, space.points(stream, clusters), entries, strict=True
        ):
            rows.append(
                Embedding(
                    id=stable_uuid(seed, "embedding", source, source_id),
                    source_type=source,
                    source_id=source_id,
                    user_id=user_id,
                    intent=intent,
                    embedding=vector,
                    model_version=model,
                    metadata={"topic_cluster": cluster},
                    created_at=created,
                    updated_at=created,
                )
            )

    templates = reference.templates
    add(
        "template",
        0,
        [intents.index(t.intent) * groups + n % groups for n, t in enumerate(templates)],
        [(stable_uuid(seed, "template", t.name), None, t.intent, catalogue_created_at(world, n))
         for n, t in enumerate(templates)],
    )  # fmt: skip
    patterns = reference.intent_patterns
    add(
        "intent_pattern",
        1,
        [intents.index(p.intent) * groups + n % groups for n, p in enumerate(patterns)],
        [(stable_uuid(seed, "intent_pattern", p.pattern, p.intent), None, p.intent,
          catalogue_created_at(world, len(templates) + n)) for n, p in enumerate(patterns)],
    )  # fmt: skip
    add(
        "history",
        2,
        [history.clusters[n] for n in history.embedded],
        [(history.rows[n].id, history.rows[n].user_id, history.rows[n].intent, history.rows[n].created_at)
         for n in history.embedded],
    )  # fmt: skip
    return rows
