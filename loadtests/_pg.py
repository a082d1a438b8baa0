"""PostgreSQL for Locust: a psycopg 3 pool per process and the application's queries, each run as
the application would run it.

The pool logs in as the application role, bp_app (`Target.app_dsn`), and every transaction names
its user with `set_config('app.user_id', …, true)` (SET LOCAL app.user_id), so row-level security,
its policies' cost and 0008's grants are part of every measurement: a write the services could
not make fails here too. Counters go through the functions that own them (analytics.count_technique).

psycopg picks its wait function when imported: a cooperative one when gevent has patched `select`
(which importing locust does), else a C one that would block every user of the process; this
module refuses to load in the second case.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from gevent import monkey
from psycopg import waiting
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

if not monkey.is_module_patched("select") or waiting.wait is getattr(waiting, "wait_c", None):
    raise ImportError("psycopg was imported before gevent patched select: run under locust, or import locust first")

APPLICATION_NAME = "loadtests"  # what pg_stat_activity shows for the load's connections
REQUEST_TIMEOUT = 5.0  # seconds a user waits for a connection before its request counts as failed
EF_SEARCH = 100  # HNSW candidates per similarity query (pgvector's default: 40)
PAGE_SIZE = 20

Cursor = tuple[datetime, uuid.UUID]  # (created_at, id) of a page's last row

HISTORY_FIRST_PAGE = f"""
SELECT id, created_at, intent, left(original_input, 200), feedback_score, is_favorite
FROM prompts.history WHERE user_id = %(user_id)s
ORDER BY created_at DESC, id DESC LIMIT {PAGE_SIZE}
"""
HISTORY_NEXT_PAGE = f"""
SELECT id, created_at, intent, left(original_input, 200), feedback_score, is_favorite
FROM prompts.history WHERE user_id = %(user_id)s AND (created_at, id) < (%(created_at)s, %(id)s)
ORDER BY created_at DESC, id DESC LIMIT {PAGE_SIZE}
"""
SIMILAR = """
SELECT source_type, source_id, embedding <=> %(query)s::vector AS distance
FROM prompts.embeddings ORDER BY embedding <=> %(query)s::vector LIMIT 10
"""
RECORD_HISTORY = """
INSERT INTO prompts.history (user_id, request_id, original_input, enhanced_output, intent, intent_confidence,
                             complexity, techniques_used, technique_scores, processing_time_ms, token_count,
                             model_version, feedback_score, feedback_text)
VALUES (%(user_id)s, %(request_id)s, %(original_input)s, %(enhanced_output)s, %(intent)s, 0.9, 'moderate',
        %(techniques)s, %(scores)s, %(processing_time_ms)s, %(token_count)s, 'bp-enhancer-load',
        %(feedback_score)s, 'recorded by a load test')
RETURNING id
"""
RECORD_EMBEDDING = """
INSERT INTO prompts.embeddings (source_type, source_id, user_id, intent, embedding, model_version)
VALUES ('history', %(history_id)s, %(user_id)s, %(intent)s, %(embedding)s::vector, 'bp-embed-768-v1')
"""
# One use of each technique, through the function that owns the counters (bp_app may only read
# them); the techniques come sorted, so two transactions lock the same rows in the same order and
# cannot deadlock. The day is UTC's, as the data layer counts it.
COUNT_TECHNIQUES = """
SELECT analytics.count_technique(t, %(intent)s, (now() AT TIME ZONE 'UTC')::date, %(succeeded)s,
                                 %(processing_time_ms)s::real)
FROM unnest(%(techniques)s::text[]) AS t
"""
READ_USER = "SELECT id, email, username, tier FROM auth.users WHERE id = %s"


@dataclass(frozen=True)
class Enhancement:
    """One enhancement and the user's feedback on it, as the enhancer records them."""

    user_id: str
    original_input: str
    enhanced_output: str
    intent: str
    techniques: list[str]
    processing_time_ms: int
    feedback_score: int
    embedding: str  # pgvector's text form


class Postgres:
    """A pool of connections logged in as `dsn`'s role (autocommit, so transactions are explicit)
    for one process: bp_app for the mix, the admin for the pgbench comparison. A request waits up
    to `timeout` seconds for a connection; opening the pool, twice that."""

    def __init__(
        self, dsn: str, *, max_size: int, min_size: int | None = None, timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self.pool = ConnectionPool(
            dsn,
            min_size=min(5, max_size) if min_size is None else min_size,
            max_size=max_size,
            kwargs={"autocommit": True, "options": "-c statement_timeout=30s", "application_name": APPLICATION_NAME},
            timeout=timeout,
            name="loadtests",
            open=True,
        )
        self.pool.wait(timeout=2 * timeout)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[TupleRow]]:
        """A pooled connection outside any user's transaction."""
        with self.pool.connection() as conn:
            yield conn

    def login(self) -> str:
        """The role the pool's connections logged in as (session_user: SET ROLE cannot change it)."""
        with self.pool.connection() as conn:
            row = conn.execute("SELECT session_user").fetchone()
        assert row is not None  # a SELECT without FROM returns one row
        return str(row[0])

    @contextmanager
    def acting_as(
        self, user_id: str, settings: Mapping[str, str] | None = None
    ) -> Iterator[psycopg.Connection[TupleRow]]:
        """A transaction acting for `user_id`, with extra SET LOCAL `settings`, all set in one round
        trip."""
        values = {"app.user_id": user_id, **(settings or {})}
        calls = ", ".join("set_config(%s, %s, true)" for _ in values)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(f"SELECT {calls}", [part for item in values.items() for part in item])
            yield conn

    def history_page(self, user_id: str, after: Cursor | None) -> Cursor | None:
        """One page of the user's history, newest first (keyset); the next page's cursor, or None
        after the last page."""
        with self.acting_as(user_id) as conn:
            if after is None:
                rows = conn.execute(HISTORY_FIRST_PAGE, {"user_id": user_id}).fetchall()
            else:
                params: dict[str, Any] = {"user_id": user_id, "created_at": after[0], "id": after[1]}
                rows = conn.execute(HISTORY_NEXT_PAGE, params).fetchall()
        return (rows[-1][1], rows[-1][0]) if len(rows) == PAGE_SIZE else None

    def similar(self, user_id: str, query: str) -> int:
        """Top 10 by cosine distance among the embeddings the user may see; how many came back.
        RLS filters the index's candidates, so the scan iterates until 10 pass (as the data layer
        does for filtered searches)."""
        settings = {"hnsw.ef_search": str(EF_SEARCH), "hnsw.iterative_scan": "relaxed_order"}
        with self.acting_as(user_id, settings) as conn:
            return len(conn.execute(SIMILAR, {"query": query}).fetchall())

    def record_enhancement(self, e: Enhancement) -> None:
        """History row, its embedding and the technique counters, in one transaction."""
        with self.acting_as(e.user_id) as conn:
            history_id = conn.execute(
                RECORD_HISTORY,
                {
                    "user_id": e.user_id,
                    "request_id": uuid.uuid4().hex,
                    "original_input": e.original_input,
                    "enhanced_output": e.enhanced_output,
                    "intent": e.intent,
                    "techniques": e.techniques,
                    "scores": Jsonb({t: 0.8 for t in e.techniques}),
                    "processing_time_ms": e.processing_time_ms,
                    "token_count": len(e.enhanced_output) // 4,
                    "feedback_score": e.feedback_score,
                },
            ).fetchone()
            assert history_id is not None  # INSERT … RETURNING returns the row or raises
            conn.execute(
                RECORD_EMBEDDING,
                {"history_id": history_id[0], "user_id": e.user_id, "intent": e.intent, "embedding": e.embedding},
            )
            conn.execute(
                COUNT_TECHNIQUES,
                {
                    "intent": e.intent,
                    "succeeded": e.feedback_score >= 4,
                    "processing_time_ms": e.processing_time_ms,
                    "techniques": sorted(e.techniques),
                },
            )

    def read_user(self, user_id: str) -> None:
        """A primary-key read, autocommit: one round trip, like `pgbench -S` (which runs as the admin,
        and so does the comparison's pool)."""
        with self.pool.connection() as conn:
            conn.execute(READ_USER, (user_id,)).fetchone()
