"""Prompt operations: recording an enhancement (history + embedding + counters, atomically),
feedback, the user's library (saved prompts, sharing, ordered collections), similarity search."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Literal, get_args
from uuid import UUID

import numpy as np

from betterprompts_db.data.errors import InvalidInput, NotFound
from betterprompts_db.data.postgres.analytics import AnalyticsService
from betterprompts_db.data.postgres.checks import (
    INT4,
    REAL_MAX,
    as_uuid,
    checked_bool,
    checked_choice,
    checked_float,
    checked_int,
    checked_json,
    checked_text,
    checked_texts,
    checked_vector,
    kind_of,
)
from betterprompts_db.data.postgres.database import Database
from betterprompts_db.data.postgres.records import CollectionPrompt, HistoryEntry, VectorLike
from betterprompts_db.data.postgres.repositories import Repositories

SourceType = Literal["history", "template", "intent_pattern", "saved_prompt"]


@dataclass(frozen=True)
class Enhancement:
    """What the enhancer produced for one request; `user_id` None for an anonymous visitor."""

    user_id: UUID | None
    request_id: str
    original_input: str
    enhanced_output: str
    intent: str
    intent_confidence: float
    techniques_used: list[str]
    processing_time_ms: int
    complexity: str | None = None
    technique_scores: dict[str, float] = field(default_factory=dict)
    token_count: int | None = None
    model_version: str | None = None
    session_id: UUID | None = None
    embedding: VectorLike | None = None
    embedding_model: str = "unknown"


@dataclass(frozen=True)
class Match:
    source_type: str
    source_id: UUID
    user_id: UUID | None
    intent: str | None
    distance: float


@dataclass(frozen=True)
class SharedPrompt:
    id: UUID
    title: str
    description: str | None
    prompt_text: str
    tags: list[str]


class PromptService:
    def __init__(self, db: Database, repos: Repositories, analytics: AnalyticsService) -> None:
        self.db = db
        self.repos = repos
        self.analytics = analytics

    async def record_enhancement(self, e: Enhancement) -> HistoryEntry:
        """History row, its embedding and the technique counters, in one transaction: all or none.
        Without a user, the one function that writes ownerless history does it all."""
        e = _checked(e, self.repos.embeddings.dimension)
        if e.user_id is None:
            return await self._record_anonymous(e)
        async with self.db.transaction(user_id=e.user_id):
            entry = await self.repos.history.create(
                user_id=e.user_id, session_id=e.session_id, request_id=e.request_id,
                original_input=e.original_input, enhanced_output=e.enhanced_output, intent=e.intent,
                intent_confidence=e.intent_confidence, complexity=e.complexity, techniques_used=e.techniques_used,
                technique_scores=e.technique_scores, processing_time_ms=e.processing_time_ms,
                token_count=e.token_count, model_version=e.model_version,
            )  # fmt: skip
            if e.embedding is not None:
                await self.repos.embeddings.create(
                    source_type="history", source_id=entry.id, user_id=e.user_id, intent=e.intent,
                    embedding=e.embedding, model_version=e.embedding_model,
                )  # fmt: skip
            for technique in e.techniques_used:
                await self.analytics.count_technique(
                    technique,
                    e.intent,
                    entry.created_at.date(),
                    succeeded=False,
                    processing_time_ms=e.processing_time_ms,
                )
        return entry

    async def _record_anonymous(self, e: Enhancement) -> HistoryEntry:
        embedding = None if e.embedding is None else np.asarray(e.embedding, dtype=np.float32)
        row = await self.db.fetchrow(
            "prompts.record_anonymous_enhancement",
            "SELECT * FROM prompts.record_anonymous_enhancement"
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            e.request_id, e.original_input, e.enhanced_output, e.intent, e.intent_confidence, e.complexity,
            e.techniques_used, e.technique_scores, e.processing_time_ms, e.token_count, e.model_version,
            embedding, e.embedding_model,
        )  # fmt: skip
        assert row is not None  # the function returns the row it inserted, or raises
        return HistoryEntry(**row)

    async def record_feedback(
        self, user_id: UUID | str, history_id: UUID | str, score: int, text: str | None = None
    ) -> HistoryEntry:
        """Feedback on one's own enhancement; a score of 4 or 5 counts as a success of its techniques."""
        score = checked_int("feedback_score", score, 1, 5)
        history_id = as_uuid("history_id", history_id)
        if text is not None:
            checked_text("feedback_text", text)
        async with self.db.transaction(user_id=as_uuid("user_id", user_id)):
            before = await self.repos.history.get(history_id)
            entry = await self.repos.history.update(history_id, feedback_score=score, feedback_text=text)
            if score >= 4 and (before.feedback_score or 0) < 4 and entry.intent is not None:
                for technique in entry.techniques_used:
                    await self.analytics.count_success(technique, entry.intent, entry.created_at.date())
        return entry

    async def share_prompt(self, user_id: UUID | str, saved_prompt_id: UUID | str) -> str:
        """Make a saved prompt public and return its share token."""
        saved_prompt_id = as_uuid("saved_prompt_id", saved_prompt_id)
        token = secrets.token_urlsafe(24)
        async with self.db.transaction(user_id=as_uuid("user_id", user_id)):
            await self.repos.saved_prompts.update(saved_prompt_id, is_public=True, share_token=token)
        return token

    async def find_shared(self, token: str) -> SharedPrompt:
        """The public prompt behind a share link, its view counted (by the function that owns the count)."""
        checked_text("token", token)
        row = await self.db.fetchrow(
            "prompts.open_shared_prompt", "SELECT * FROM prompts.open_shared_prompt($1)", token
        )
        if row is None:
            raise NotFound(f"no public prompt is shared as {token[:6]}…")
        return SharedPrompt(row["id"], row["title"], row["description"], row["prompt_text"], row["tags"])

    async def add_to_collection(
        self, user_id: UUID | str, collection_id: UUID | str, saved_prompt_id: UUID | str
    ) -> CollectionPrompt:
        """Append at the end; the collection row is locked so concurrent appends get distinct positions."""
        collection = as_uuid("collection_id", collection_id)
        saved_prompt_id = as_uuid("saved_prompt_id", saved_prompt_id)
        async with self.db.transaction(user_id=as_uuid("user_id", user_id)):
            owned = await self.db.fetchval(
                "prompts.collections", "SELECT 1 FROM prompts.collections WHERE id = $1 FOR UPDATE", collection
            )
            if owned is None:
                raise NotFound(f"prompts.collections: no collection {collection} of this user")
            position = await self.db.fetchval(
                "prompts.collection_prompts",
                "SELECT coalesce(max(position) + 1, 0) FROM prompts.collection_prompts WHERE collection_id = $1",
                collection,
            )
            return await self.repos.collection_prompts.create(
                collection_id=collection, saved_prompt_id=saved_prompt_id, position=position
            )

    async def reorder_collection(
        self, user_id: UUID | str, collection_id: UUID | str, saved_prompt_ids: Sequence[UUID | str]
    ) -> None:
        """Set the order to exactly `saved_prompt_ids` (positions 0..n-1) in one transaction."""
        collection = as_uuid("collection_id", collection_id)
        if not isinstance(saved_prompt_ids, list | tuple):
            raise InvalidInput("saved_prompt_ids", f"must be a list of ids, got a {kind_of(saved_prompt_ids)}")
        wanted = [as_uuid("saved_prompt_ids", p) for p in saved_prompt_ids]
        async with self.db.transaction(user_id=as_uuid("user_id", user_id)):
            current = await self.db.fetch(
                "prompts.collection_prompts",
                "SELECT saved_prompt_id FROM prompts.collection_prompts WHERE collection_id = $1 FOR UPDATE",
                collection,
            )
            if sorted(r[0] for r in current) != sorted(wanted):
                raise InvalidInput("saved_prompt_ids", "must list exactly the prompts in the collection, once each")
            await self.db.execute(
                "prompts.collection_prompts", "SET CONSTRAINTS prompts.collection_prompts_position_key DEFERRED"
            )
            await self.db.execute(
                "prompts.collection_prompts",
                "UPDATE prompts.collection_prompts c SET position = o.position - 1"
                " FROM unnest($2::uuid[]) WITH ORDINALITY AS o(saved_prompt_id, position)"
                " WHERE c.collection_id = $1 AND c.saved_prompt_id = o.saved_prompt_id",
                collection, wanted,
            )  # fmt: skip

    async def similar(
        self, embedding: VectorLike, *, k: int = 10, user_id: UUID | str | None = None, intent: str | None = None,
        source_type: SourceType | None = None, ef_search: int | None = None, probes: int | None = None,
        exact: bool = False,
    ) -> list[Match]:  # fmt: skip
        """Top-k by cosine distance; filters on user/intent/source; HNSW `ef_search` or IVFFlat
        `probes` for this query only; `exact` scans without the index (the recall baseline)."""
        k = checked_int("k", k, 1, 1000)  # a plain int: it is the one value written into the SQL below
        vector = checked_vector("embedding", embedding, self.repos.embeddings.dimension)
        user_id = None if user_id is None else as_uuid("user_id", user_id)
        if intent is not None:
            checked_text("intent", intent)
        if source_type is not None:
            checked_choice("source_type", source_type, get_args(SourceType))
        if ef_search is not None:
            ef_search = checked_int("ef_search", ef_search, 1, 1000)  # pgvector's range
        if probes is not None:
            probes = checked_int("probes", probes, 1, 32768)
        checked_bool("exact", exact)
        conditions, args = _filters(user_id, intent, source_type)
        sql = similarity_sql(tuple(conditions))
        async with self.db.transaction(readonly=True):
            for setting, value in (("hnsw.ef_search", ef_search), ("ivfflat.probes", probes)):
                if value is not None:
                    await self.db.execute(
                        "similarity search", f"SELECT set_config('{setting}', $1, true)", str(int(value))
                    )
            if conditions:  # keep scanning the index until k rows pass the filters
                await self.db.execute("similarity search", "SET LOCAL hnsw.iterative_scan = relaxed_order")
            if exact:
                await self.db.execute("similarity search", "SET LOCAL enable_indexscan = off")
            rows = await self.db.fetch("prompts.embeddings", sql, vector, *args, k)
        return [Match(r["source_type"], r["source_id"], r["user_id"], r["intent"], float(r["distance"])) for r in rows]


@cache
def similarity_sql(conditions: tuple[str, ...]) -> str:
    """Top-k by cosine distance to the vector in $1, under `conditions` on the parameters after it; k
    last. Shared with the load tests."""
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    return (f"SELECT source_type, source_id, user_id, intent, embedding <=> $1 AS distance"
            f" FROM prompts.embeddings {where} ORDER BY embedding <=> $1 LIMIT ${len(conditions) + 2}")  # fmt: skip


def _filters(user_id: UUID | str | None, intent: str | None, source_type: str | None) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    args: list[Any] = []
    for column, value in (("user_id", as_uuid("user_id", user_id) if user_id else None), ("intent", intent),
                          ("source_type", source_type)):  # fmt: skip
        if value is not None:
            args.append(value)
            conditions.append(f"{column} = ${len(args) + 1}")
    return conditions, args


def _checked(e: object, dimension: int | None) -> Enhancement:
    """`e` with every field checked as its column would check it, before any SQL: the anonymous
    path hands the values to a function, not to a repository."""
    if not isinstance(e, Enhancement):
        raise InvalidInput("enhancement", f"must be an Enhancement, got a {kind_of(e)}")
    return replace(
        e,
        user_id=None if e.user_id is None else as_uuid("user_id", e.user_id),
        request_id=checked_text("request_id", e.request_id),
        original_input=checked_text("original_input", e.original_input),
        enhanced_output=checked_text("enhanced_output", e.enhanced_output),
        intent=checked_text("intent", e.intent),
        intent_confidence=checked_float("intent_confidence", e.intent_confidence, -REAL_MAX, REAL_MAX),
        techniques_used=checked_texts("techniques_used", e.techniques_used),
        processing_time_ms=checked_int("processing_time_ms", e.processing_time_ms, *INT4),
        complexity=None if e.complexity is None else checked_text("complexity", e.complexity),
        technique_scores=checked_json("technique_scores", e.technique_scores),
        token_count=None if e.token_count is None else checked_int("token_count", e.token_count, *INT4),
        model_version=None if e.model_version is None else checked_text("model_version", e.model_version),
        session_id=None if e.session_id is None else as_uuid("session_id", e.session_id),
        embedding=None if e.embedding is None else checked_vector("embedding", e.embedding, dimension),
        embedding_model=checked_text("embedding_model", e.embedding_model),
    )
