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
from datetime import UTC, datetime

import psycopg
from gevent import monkey
from psycopg import waiting
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg.types.numeric import Float4
from psycopg_pool import ConnectionPool

from betterprompts_db.data.postgres.analytics import COUNT_TECHNIQUE
from betterprompts_db.data.postgres.prompts import similarity_sql
from betterprompts_db.data.postgres.records import HistoryEntry
from betterprompts_db.data.postgres.repository import get_sql, insert_sql, list_sql

if not monkey.is_module_patched("select") or waiting.wait is getattr(waiting, "wait_c", None):
    raise ImportError("psycopg was imported before gevent patched select: run under locust, or import locust first")

APPLICATION_NAME = "loadtests"  # what pg_stat_activity shows for the load's connections
REQUEST_TIMEOUT = 5.0  # seconds a user waits for a connection before its request counts as failed
EF_SEARCH = 100  # HNSW candidates per similarity query (pgvector's default: 40)
PAGE_SIZE = 20

Cursor = tuple[datetime, uuid.UUID]  # (created_at, id) of a page's last row

# The data layer's own statements ($n placeholders, which psycopg's RawCursor sends as they are):
# what the load measures is what the application runs.
HISTORY_PAGE = list_sql("prompts.history", ("user_id",), (), False)
HISTORY_NEXT_PAGE = list_sql("prompts.history", ("user_id",), (), True)
SIMILAR = similarity_sql(())  # row-level security filters what the user may see
HISTORY_COLUMNS = (
    "user_id", "request_id", "original_input", "enhanced_output", "intent", "intent_confidence", "complexity",
    "techniques_used", "technique_scores", "processing_time_ms", "token_count", "model_version", "feedback_score",
    "feedback_text",
)  # fmt: skip
RECORD_HISTORY = insert_sql("prompts.history", HISTORY_COLUMNS)
RECORD_EMBEDDING = insert_sql(
    "prompts.embeddings", ("source_type", "source_id", "user_id", "intent", "embedding", "model_version")
)
READ_USER = get_sql("auth.users")


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
            kwargs={
                "autocommit": True,
                "options": "-c statement_timeout=30s",
                "application_name": APPLICATION_NAME,
                "cursor_factory": psycopg.RawCursor,
            },
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
        calls = ", ".join(f"set_config(${2 * n + 1}, ${2 * n + 2}, true)" for n in range(len(values)))
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(f"SELECT {calls}", [part for item in values.items() for part in item])
            yield conn

    def history_page(self, user_id: str, after: Cursor | None) -> Cursor | None:
        """One page of the user's history, newest first (keyset), one row more to tell whether
        another page follows, as the repository reads it; the next page's cursor, or None after
        the last page."""
        with self.acting_as(user_id) as conn:
            if after is None:
                rows = conn.execute(HISTORY_PAGE, (user_id, PAGE_SIZE + 1)).fetchall()
            else:
                rows = conn.execute(HISTORY_NEXT_PAGE, (user_id, *after, PAGE_SIZE + 1)).fetchall()
        if len(rows) <= PAGE_SIZE:
            return None
        last = HistoryEntry(*rows[PAGE_SIZE - 1])
        return last.created_at, last.id

    def similar(self, user_id: str, query: str) -> int:
        """Top 10 by cosine distance among the embeddings the user may see; how many came back.
        RLS filters the index's candidates, so the scan iterates until 10 pass (as the data layer
        does for filtered searches)."""
        settings = {"hnsw.ef_search": str(EF_SEARCH), "hnsw.iterative_scan": "relaxed_order"}
        with self.acting_as(user_id, settings) as conn:
            return len(conn.execute(SIMILAR, (query, 10)).fetchall())

    def record_enhancement(self, e: Enhancement) -> None:
        """History row, its embedding and the technique counters, in one transaction, as the data
        layer records them; the techniques counted in sorted order, so two transactions lock the
        counters in the same order and cannot deadlock."""
        with self.acting_as(e.user_id) as conn:
            row = conn.execute(
                RECORD_HISTORY,
                (
                    e.user_id, uuid.uuid4().hex, e.original_input, e.enhanced_output, e.intent, 0.9, "moderate",
                    e.techniques, Jsonb({t: 0.8 for t in e.techniques}), e.processing_time_ms,
                    len(e.enhanced_output) // 4, "bp-enhancer-load", e.feedback_score, "recorded by a load test",
                ),
            ).fetchone()  # fmt: skip
            assert row is not None  # INSERT … RETURNING returns the row or raises
            entry = HistoryEntry(*row)
            conn.execute(RECORD_EMBEDDING, ("history", entry.id, e.user_id, e.intent, e.embedding, "bp-embed-768-v1"))
            day = entry.created_at.astimezone(UTC).date()  # the day as the data layer counts it: UTC's
            milliseconds = Float4(e.processing_time_ms)  # the function's real: a float8 would match no signature
            for technique in sorted(e.techniques):
                conn.execute(COUNT_TECHNIQUE, (technique, e.intent, day, e.feedback_score >= 4, milliseconds))

    def read_user(self, user_id: str) -> None:
        """A primary-key read, autocommit: one round trip, like `pgbench -S` (which runs as the admin,
        and so does the comparison's pool)."""
        with self.pool.connection() as conn:
            conn.execute(READ_USER, (user_id,)).fetchone()
