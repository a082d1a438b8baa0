"""A profile's whole world as rows per table, generated in memory before anything is loaded."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from betterprompts_db.seed.analytics import (
    ACTIVITY_COLUMNS,
    API_METRIC_COLUMNS,
    DAILY_STATS_COLUMNS,
    EFFECTIVENESS_COLUMNS,
    build_analytics,
)
from betterprompts_db.seed.catalogue import (
    INTENT_PATTERN_COLUMNS,
    TEMPLATE_COLUMNS,
    catalogue_created_at,
    intent_pattern_rows,
    template_rows,
)
from betterprompts_db.seed.history import HISTORY_COLUMNS, History, HistoryWriter
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.library import (
    COLLECTION_COLUMNS,
    COLLECTION_PROMPT_COLUMNS,
    SAVED_PROMPT_COLUMNS,
    build_library,
)
from betterprompts_db.seed.passwords import bcrypt_cost
from betterprompts_db.seed.people import API_KEY_COLUMNS, PREFERENCE_COLUMNS, SESSION_COLUMNS, USER_COLUMNS, People
from betterprompts_db.seed.profiles import Profile, World, load_profile
from betterprompts_db.seed.reference import Reference, load_reference
from betterprompts_db.seed.vectors import ClusterSpace, encode_vectors
from betterprompts_db.settings import DEFAULT_BCRYPT_COST

EMBEDDING_COLUMNS = (
    "id", "source_type", "source_id", "user_id", "intent", "embedding", "model_version", "metadata", "created_at",
    "updated_at",
)  # fmt: skip
Row = Sequence[object]


@dataclass(frozen=True)
class Table:
    """Rows for one table, keyed by their first column (`id`), and the tables they reference."""

    qualified: str
    columns: tuple[str, ...]
    rows: Sequence[Row]
    depends_on: tuple[str, ...] = ()

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
    tables: tuple[Table, ...]

    def counts(self) -> dict[str, int]:
        return {t.qualified: len(t.rows) for t in self.tables}

    def table(self, qualified: str) -> Table:
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
        Table("auth.users", USER_COLUMNS, [u.row for u in users]),
        # the HNSW index build takes longest of all: first in line for a connection
        Table("prompts.embeddings", EMBEDDING_COLUMNS, embedding_rows(world, reference, history), users_table),
        Table("auth.sessions", SESSION_COLUMNS, [s.row for u in users for s in u.sessions], users_table),
        Table("auth.api_keys", API_KEY_COLUMNS, [k.row() for u in users for k in u.api_keys], users_table),
        Table("auth.user_preferences", PREFERENCE_COLUMNS, [u.preferences.row for u in users if u.preferences],
              users_table),
        Table("prompts.templates", TEMPLATE_COLUMNS, template_rows(world, reference, accounts, uses), users_table),
        Table("prompts.intent_patterns", INTENT_PATTERN_COLUMNS, intent_pattern_rows(world, reference, accounts),
              users_table),
        Table("prompts.history", HISTORY_COLUMNS, history.rows, ("auth.users", "auth.sessions")),
        Table("prompts.saved_prompts", SAVED_PROMPT_COLUMNS, library.saved_prompts, ("prompts.history",)),
        Table("prompts.collections", COLLECTION_COLUMNS, library.collections, users_table),
        Table("prompts.collection_prompts", COLLECTION_PROMPT_COLUMNS, library.collection_prompts,
              ("prompts.collections", "prompts.saved_prompts")),
        Table("analytics.user_activity", ACTIVITY_COLUMNS, analytics.user_activity, ("auth.sessions",)),
        Table("analytics.api_metrics", API_METRIC_COLUMNS, analytics.api_metrics, ("auth.api_keys",)),
        Table("analytics.technique_effectiveness", EFFECTIVENESS_COLUMNS, analytics.technique_effectiveness),
        Table("analytics.daily_stats", DAILY_STATS_COLUMNS, analytics.daily_stats),
    )  # fmt: skip
    return Dataset(world, profile, tables)


def embedding_rows(world: World, reference: Reference, history: History) -> list[Row]:
    """Templates and intent patterns all; the history rows the profile embeds. Topic cluster in metadata."""
    space = ClusterSpace(world.random_seed, world.embedding_clusters, world.embedding_dimension)
    intents = list(reference.intents)
    groups = world.embedding_clusters // len(intents)
    seed, model = world.random_seed, world.embedding_model
    rows: list[Row] = []

    def add(source: str, stream: int, clusters: list[int], entries: list[tuple[object, ...]]) -> None:
        for cluster, vector, (source_id, user_id, intent, created) in zip(
            clusters, encode_vectors(space.points(stream, clusters)), entries, strict=True
        ):
            meta = json.dumps({"topic_cluster": cluster})
            row_id = stable_uuid(seed, "embedding", source, source_id)
            rows.append((row_id, source, source_id, user_id, intent, vector, model, meta, created, created))

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
