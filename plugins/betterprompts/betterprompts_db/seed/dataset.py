"""A profile's world as batches of rows per table, written in one pass over its history.

The people, the reference data and the roll-ups are held whole (they grow with users and days);
history and what is drawn from each of its rows (embeddings, saved prompts, activity) are made a
batch at a time and handed on, so a profile of millions of rows is written in bounded memory. Only
the API metrics wait for the end of history, behind the keys whose uses they count (their foreign
key): a small share of the requests.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from uuid import UUID

from betterprompts_db.data.postgres.records import RECORDS, ApiMetric, Embedding, HistoryEntry, columns_of
from betterprompts_db.seed.analytics import AnalyticsWriter
from betterprompts_db.seed.catalogue import catalogue_created_at, intent_pattern_rows, template_rows
from betterprompts_db.seed.history import CHUNK, History, HistoryWriter
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.library import LibraryWriter
from betterprompts_db.seed.passwords import bcrypt_cost
from betterprompts_db.seed.people import People
from betterprompts_db.seed.profiles import Profile, World, load_profile
from betterprompts_db.seed.reference import Reference, load_reference
from betterprompts_db.seed.vectors import ClusterSpace
from betterprompts_db.settings import DEFAULT_BCRYPT_COST

R = TypeVar("R")
BATCH = 16 * CHUNK  # history rows per batch: ~16k, tens of MB with what is drawn from them


@dataclass(frozen=True)
class Table(Generic[R]):
    """Rows for one table (or a batch of them), as the data layer's records of it (`RECORDS`, whose
    fields are the columns loaded), keyed by their `id`."""

    qualified: str
    rows: Sequence[R]

    @property
    def columns(self) -> tuple[str, ...]:
        return columns_of(RECORDS[self.qualified])

    @property
    def schema(self) -> str:
        return self.qualified.split(".")[0]

    @property
    def name(self) -> str:
        return self.qualified.split(".")[1]


class WorldWriter:
    """Profile `profile_name` at `scale` from the files in `seeds_dir`, bcrypt at `cost`: its
    batches, in an order that loads each after the rows it references."""

    def __init__(self, seeds_dir: Path, profile_name: str, scale: float = 1.0, cost: int = DEFAULT_BCRYPT_COST) -> None:
        self.world, self.profile = load_profile(seeds_dir, profile_name, scale)
        self.reference = load_reference(seeds_dir)
        self.cost = bcrypt_cost(cost)
        self.people = People(self.world, self.profile, self.reference, self.cost)
        self.people.build()  # with the bcrypt hashes: here, so a caller timing the making counts them

    def history_sample(self) -> list[HistoryEntry]:
        """The first, middle and last history rows: what tells this world from another in a database."""
        count = self.profile.history
        writer = HistoryWriter(self.world, self.profile, self.reference, self.people.users)
        return writer.sample(sorted({0, count // 2, count - 1})) if count else []

    def batches(self, size: int = BATCH) -> Iterator[Table[Any]]:
        """Once only: the API keys count their uses as the batches are made."""
        world, profile, reference = self.world, self.profile, self.reference
        people = self.people
        users = people.users
        accounts = {key: user.id for key, user in people.by_account.items()}
        embeddings = Embeddings(world, reference)
        library = LibraryWriter(world, profile, reference.vocabulary)
        analytics = AnalyticsWriter(world, profile, reference.vocabulary, users)
        yield Table("auth.users", [u.record for u in users])
        yield Table("auth.sessions", [s for u in users for s in u.sessions])
        yield Table("auth.user_preferences", [u.preferences for u in users if u.preferences])
        yield Table("prompts.intent_patterns", intent_pattern_rows(world, reference, accounts))
        yield Table("prompts.embeddings", embeddings.catalogue())
        yield Table("analytics.user_activity", analytics.account_activity())
        uses: Counter[str] = Counter()
        metrics: list[ApiMetric] = []
        for history in HistoryWriter(world, profile, reference, users).batches(size):
            saved = library.save(history)
            metrics += analytics.api_metrics(history)
            analytics.count(history)
            uses.update(t for row in history.rows for t in row.techniques_used)
            yield Table("prompts.history", history.rows)
            yield Table("prompts.embeddings", embeddings.of_history(history))
            yield Table("prompts.saved_prompts", saved)
            yield Table("analytics.user_activity", analytics.request_activity(history, saved))
        yield Table("auth.api_keys", [k for u in users for k in u.api_keys])  # their uses counted
        yield Table("analytics.api_metrics", metrics)
        yield Table("prompts.templates", template_rows(world, reference, accounts, uses))
        collections, collection_prompts = library.collect()
        yield Table("prompts.collections", collections)
        yield Table("prompts.collection_prompts", collection_prompts)
        yield Table("analytics.technique_effectiveness", analytics.technique_effectiveness())
        yield Table("analytics.daily_stats", analytics.daily_stats())


@dataclass(frozen=True)
class Dataset:
    """A whole world in memory, table by table: for small profiles and for tests that read it."""

    world: World
    profile: Profile
    tables: tuple[Table[Any], ...]

    def counts(self) -> dict[str, int]:
        return {t.qualified: len(t.rows) for t in self.tables}

    def table(self, qualified: str) -> Table[Any]:
        return next(t for t in self.tables if t.qualified == qualified)

    def history_sample(self) -> list[HistoryEntry]:
        rows = next((t.rows for t in self.tables if t.qualified == "prompts.history"), [])
        return [rows[n] for n in sorted({0, len(rows) // 2, len(rows) - 1})] if rows else []

    def batches(self) -> Iterator[Table[Any]]:
        return iter(self.tables)


def build_dataset(seeds_dir: Path, profile_name: str, scale: float = 1.0, cost: int = DEFAULT_BCRYPT_COST) -> Dataset:
    """Profile `profile_name` at `scale`, from the files in `seeds_dir`, whole; bcrypt at `cost`."""
    writer = WorldWriter(seeds_dir, profile_name, scale, cost)
    rows: dict[str, list[Any]] = {}
    for batch in writer.batches():
        rows.setdefault(batch.qualified, []).extend(batch.rows)
    return Dataset(writer.world, writer.profile, tuple(Table(name, table) for name, table in rows.items()))


class Embeddings:
    """Embeddings of templates and intent patterns (all) and of the history rows the profile embeds,
    a batch at a time. Topic cluster in metadata."""

    def __init__(self, world: World, reference: Reference) -> None:
        self.world, self.reference = world, reference
        self.space = ClusterSpace(world.random_seed, world.embedding_clusters, world.embedding_dimension)
        self.intents = list(reference.intents)
        self.groups = world.embedding_clusters // len(self.intents)
        self.history_position = 0  # of the next history embedding in its stream

    def rows(
        self,
        source: str,
        stream: int,
        clusters: list[int],
        entries: list[tuple[UUID, UUID | None, str | None, dt.datetime]],
        offset: int = 0,
    ) -> list[Embedding]:
        seed, model = self.world.random_seed, self.world.embedding_model
        return [
            Embedding(
                id=stable_uuid(seed, "embedding", source, source_id), source_type=source, source_id=source_id,
                user_id=user_id, intent=intent, embedding=vector, model_version=model,
                metadata={"topic_cluster": cluster}, created_at=created, updated_at=created,
            )
            for cluster, vector, (source_id, user_id, intent, created) in zip(
                clusters, self.space.points(stream, clusters, offset), entries, strict=True
            )
        ]  # fmt: skip

    def catalogue(self) -> list[Embedding]:
        world, intents, groups = self.world, self.intents, self.groups
        seed = world.random_seed
        templates, patterns = self.reference.templates, self.reference.intent_patterns
        return self.rows(
            "template", 0,
            [intents.index(t.intent) * groups + n % groups for n, t in enumerate(templates)],
            [(stable_uuid(seed, "template", t.name), None, t.intent, catalogue_created_at(world, n))
             for n, t in enumerate(templates)],
        ) + self.rows(
            "intent_pattern", 1,
            [intents.index(p.intent) * groups + n % groups for n, p in enumerate(patterns)],
            [(stable_uuid(seed, "intent_pattern", p.pattern, p.intent), None, p.intent,
              catalogue_created_at(world, len(templates) + n)) for n, p in enumerate(patterns)],
        )  # fmt: skip

    def of_history(self, history: History) -> list[Embedding]:
        rows = [history.rows[n] for n in history.embedded]
        embedded = self.rows(
            "history", 2, [history.clusters[n] for n in history.embedded],
            [(row.id, row.user_id, row.intent, row.created_at) for row in rows], self.history_position,
        )  # fmt: skip
        self.history_position += len(rows)
        return embedded
