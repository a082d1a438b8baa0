"""Every index is there for a query the data layer (`betterprompts_db/data/postgres`) or DOMAIN.md makes: each
is named below with that query, and the planner must choose it (sequential scans off, so a few
rows suffice). A partial index holds only the rows its queries ask for: a query about the other
rows must not be answered from it. A new index without a query it serves fails the coverage test.
Rolled back per test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import numpy as np

from betterprompts_db.data.postgres.analytics import ROLL_UP_DAY
from betterprompts_db.data.postgres.codecs import register_codecs
from betterprompts_db.data.postgres.repository import list_sql
from suites.betterprompts.schema.rows import BCRYPT_SHAPED

APP_SCHEMAS = ("auth", "prompts", "analytics")


def listing(table: str, *equal: str) -> str:
    """A repository's `list(filters=…)`: newest first, equality on `equal`."""
    return list_sql(table, equal, (), False)


def similar(*filters: str) -> str:
    """`PromptService.similar`'s query with its filters."""
    where = " AND ".join(f"{column} = ${i}" for i, column in enumerate(filters, start=2))
    return (
        "SELECT source_type, source_id, user_id, intent, embedding <=> $1 AS distance FROM prompts.embeddings"
        + (f" WHERE {where}" if where else "")
        + f" ORDER BY embedding <=> $1 LIMIT ${len(filters) + 2}"
    )


@dataclass(frozen=True)
class Query:
    """`sql`, its arguments named among `sample_rows`'s values, planned with the `off` settings off."""

    why: str
    sql: str
    args: tuple[str, ...] = ()
    off: tuple[str, ...] = ("enable_seqscan",)


# the index -> the query it is there for
SERVES: dict[str, Query] = {
    # auth
    "auth.users_tier_created_at_idx": Query(
        "the admin listing: a tier's users, newest first", listing("auth.users", "tier"), ("tier", "limit")
    ),
    "auth.sessions_user_active_idx": Query(
        "a user's live sessions (list, revoke all)",
        "UPDATE auth.sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        ("user",),
    ),
    "auth.sessions_user_id_idx": Query(
        "deleting a user cascades to every session of theirs, revoked ones too",
        "DELETE FROM auth.sessions WHERE user_id = $1",
        ("user",),
    ),
    "auth.sessions_expires_at_idx": Query(
        "the expiry sweep (`AuthService.expire_sessions`)", "DELETE FROM auth.sessions WHERE expires_at <= now()"
    ),
    "auth.api_keys_user_active_idx": Query(
        "the settings page: a user's active keys, newest first",
        listing("auth.api_keys", "user_id", "is_active"),
        ("user", "active", "limit"),
    ),
    # prompts
    "prompts.templates_technique_score_idx": Query(
        "the enhancer picks a technique's active templates, best first",
        "SELECT * FROM prompts.templates WHERE technique = $1 AND is_active"
        " ORDER BY effectiveness_score DESC NULLS LAST LIMIT 5",
        ("technique",),
    ),
    "prompts.templates_created_by_idx": Query(
        "deleting a user sets their templates' author to NULL",
        "UPDATE prompts.templates SET created_by = NULL WHERE created_by = $1",
        ("user",),
    ),
    "prompts.templates_category_idx": Query(
        "a category's templates", listing("prompts.templates", "category"), ("category", "limit")
    ),
    "prompts.history_user_created_at_idx": Query(
        "a user's history page, newest first", listing("prompts.history", "user_id"), ("user", "limit")
    ),
    "prompts.history_user_favorites_idx": Query(
        "a user's favourites, newest first",
        "SELECT * FROM prompts.history WHERE user_id = $1 AND is_favorite ORDER BY created_at DESC LIMIT $2",
        ("user", "limit"),
    ),
    "prompts.history_techniques_used_idx": Query(
        "which enhancements used a technique",
        "SELECT id FROM prompts.history WHERE techniques_used @> ARRAY[$1]::text[]",
        ("technique",),
    ),
    "prompts.history_intent_created_at_idx": Query(
        "an intent's enhancements over time",
        "SELECT * FROM prompts.history WHERE intent = $1 AND created_at >= now() - interval '7 days'"
        " ORDER BY created_at DESC",
        ("intent",),
    ),
    "prompts.history_session_id_idx": Query(
        "deleting a session sets its history's session to NULL",
        "UPDATE prompts.history SET session_id = NULL WHERE session_id = $1",
        ("session",),
    ),
    "prompts.history_created_at_brin_idx": Query(
        "the daily roll-up reads one day of history",
        ROLL_UP_DAY,
        ("roll_up_day",),
        ("enable_seqscan", "enable_indexscan"),
    ),
    "prompts.intent_patterns_verified_intent_idx": Query(
        "the classifier's training export: an intent's verified patterns",
        "SELECT pattern, normalized_pattern FROM prompts.intent_patterns WHERE intent = $1 AND is_verified",
        ("intent",),
    ),
    "prompts.intent_patterns_verified_by_idx": Query(
        "deleting a user sets the patterns they verified to verified by NULL",
        "UPDATE prompts.intent_patterns SET verified_by = NULL WHERE verified_by = $1",
        ("user",),
    ),
    "prompts.saved_prompts_user_created_at_idx": Query(
        "the user's library, newest first", listing("prompts.saved_prompts", "user_id"), ("user", "limit")
    ),
    "prompts.saved_prompts_tags_idx": Query(
        "the library searched by tag", "SELECT id FROM prompts.saved_prompts WHERE tags @> ARRAY[$1]::text[]", ("tag",)
    ),
    "prompts.saved_prompts_history_id_idx": Query(
        "deleting a history entry unlinks the prompts saved from it",
        "UPDATE prompts.saved_prompts SET history_id = NULL, history_created_at = NULL"
        " WHERE history_id = $1 AND history_created_at = $2",
        ("history", "history_created_at"),
    ),
    "prompts.collection_prompts_saved_prompt_id_idx": Query(
        "deleting a saved prompt removes it from every collection",
        "DELETE FROM prompts.collection_prompts WHERE saved_prompt_id = $1",
        ("saved_prompt",),
    ),
    "prompts.embeddings_embedding_hnsw_idx": Query(
        "similarity search: top-k by cosine distance", similar(), ("vector", "k")
    ),
    "prompts.embeddings_user_id_idx": Query(
        "the exact (recall baseline) search among a user's own embeddings",
        similar("user_id"),
        ("vector", "user", "k"),
        ("enable_seqscan", "enable_indexscan"),
    ),
    "prompts.embeddings_intent_idx": Query(
        "the exact (recall baseline) search among one intent's embeddings",
        similar("intent"),
        ("vector", "intent", "k"),
        ("enable_seqscan", "enable_indexscan"),
    ),
    # analytics
    "analytics.technique_effectiveness_day_idx": Query(
        "the dashboard: every technique over the last days",
        "SELECT * FROM analytics.technique_effectiveness WHERE day >= current_date - 7 ORDER BY day DESC",
    ),
    "analytics.user_activity_user_created_at_idx": Query(
        "a user's recent activity", listing("analytics.user_activity", "user_id"), ("user", "limit")
    ),
    "analytics.user_activity_type_created_at_idx": Query(
        "activity of one type over time", listing("analytics.user_activity", "activity_type"), ("activity", "limit")
    ),
    "analytics.user_activity_session_id_idx": Query(
        "deleting a session sets its activity's session to NULL",
        "UPDATE analytics.user_activity SET session_id = NULL WHERE session_id = $1",
        ("session",),
    ),
    "analytics.api_metrics_api_key_created_at_idx": Query(
        "a key's usage over time", listing("analytics.api_metrics", "api_key_id"), ("key", "limit")
    ),
    "analytics.api_metrics_endpoint_created_at_idx": Query(
        "an endpoint's latency over time", listing("analytics.api_metrics", "endpoint"), ("endpoint", "limit")
    ),
    "analytics.api_metrics_errors_idx": Query(
        "the latest server errors",
        "SELECT * FROM analytics.api_metrics WHERE status_code >= 500 ORDER BY created_at DESC LIMIT $1",
        ("limit",),
    ),
}

# a partial index -> a query about rows outside its predicate, which it must not answer
OUTSIDE_PREDICATE: dict[str, Query] = {
    "auth.sessions_user_active_idx": Query(
        "a user's sessions by expiry, revoked ones too",
        "SELECT * FROM auth.sessions WHERE user_id = $1 ORDER BY expires_at DESC LIMIT $2",
        ("user", "limit"),
    ),
    "auth.api_keys_user_active_idx": Query(
        "all of a user's keys, newest first", listing("auth.api_keys", "user_id"), ("user", "limit")
    ),
    "prompts.templates_technique_score_idx": Query(
        "a technique's templates, retired ones too, best first",
        "SELECT * FROM prompts.templates WHERE technique = $1 ORDER BY effectiveness_score DESC NULLS LAST LIMIT 5",
        ("technique",),
    ),
    "prompts.history_user_favorites_idx": Query(
        "a user's history, favourites or not",
        "SELECT * FROM prompts.history WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2",
        ("user", "limit"),
    ),
    "prompts.intent_patterns_verified_intent_idx": Query(
        "an intent's patterns, verified or not",
        "SELECT pattern FROM prompts.intent_patterns WHERE intent = $1",
        ("intent",),
    ),
    "analytics.api_metrics_errors_idx": Query(
        "the latest requests, whatever their status",
        "SELECT * FROM analytics.api_metrics ORDER BY created_at DESC LIMIT $1",
        ("limit",),
    ),
}

# Thirty users with rows of every kind, few of them live, active, favourite, verified or failed, as
# in a real library; the queries ask about the first user.
USERS = """
INSERT INTO auth.users (email, username, password_hash, tier)
SELECT 'u' || i || '@example.com', 'user' || i, $1, (ARRAY['free', 'pro', 'enterprise'])[1 + i % 3]
FROM generate_series(1, 30) i
"""
FILL = """
INSERT INTO auth.sessions (user_id, token_hash, expires_at, revoked_at)
SELECT u.id, md5(u.id::text || i), now() + i * interval '1 hour', CASE WHEN i > 1 THEN now() END
FROM auth.users u, generate_series(1, 20) i;
INSERT INTO auth.api_keys (user_id, name, key_prefix, key_hash)
SELECT u.id, 'key ' || i, 'bp_k', md5(u.id::text || 'key' || i) FROM auth.users u, generate_series(1, 10) i;
UPDATE auth.api_keys SET is_active = (name = 'key 1');
INSERT INTO prompts.templates (name, technique, category, template_text, effectiveness_score, is_active, created_by)
SELECT 'template ' || i, (public.technique_names())[1 + i % 12], 'category_' || chr(97 + i % 10), '{x}',
       (i % 100) / 100.0, i % 10 = 0, (SELECT id FROM auth.users WHERE username = 'user' || (1 + i % 30))
FROM generate_series(1, 300) i;
INSERT INTO prompts.history (user_id, session_id, request_id, original_input, enhanced_output, intent,
                             techniques_used, is_favorite, created_at)
SELECT u.id, (SELECT s.id FROM auth.sessions s WHERE s.user_id = u.id ORDER BY s.expires_at LIMIT 1),
       'req-' || u.id || '-' || i, 'input', 'output', (public.intent_names())[1 + i % 10],
       ARRAY[(public.technique_names())[1 + i % 12]], i % 20 = 0, now() - i * interval '1 hour'
FROM auth.users u, generate_series(1, 40) i;
-- a month of roll-up days long past, every hour: the roll-up of one of them reads a slice of its partition
INSERT INTO prompts.history (user_id, request_id, original_input, enhanced_output, intent, created_at)
SELECT NULL, 'past-' || i, 'input', 'output', 'reasoning', timestamptz '2000-01-01' + i * interval '1 hour'
FROM generate_series(0, 30 * 24 - 1) i;
INSERT INTO prompts.intent_patterns (pattern, intent, is_verified, verified_by)
SELECT 'pattern ' || i, (public.intent_names())[1 + i % 10], i % 20 = 0,
       (SELECT id FROM auth.users WHERE username = 'user' || (1 + i % 30))
FROM generate_series(1, 600) i;
INSERT INTO prompts.saved_prompts (user_id, history_id, title, prompt_text, tags)
SELECT h.user_id, h.id, 'saved', 'prompt', ARRAY['tag' || (row_number() OVER () % 25)]
FROM prompts.history h WHERE h.user_id IS NOT NULL;
INSERT INTO prompts.collections (user_id, name) SELECT id, 'collection' FROM auth.users;
INSERT INTO prompts.collection_prompts (collection_id, saved_prompt_id, position)
SELECT c.id, s.id, row_number() OVER (PARTITION BY c.id ORDER BY s.id)
FROM prompts.collections c JOIN prompts.saved_prompts s ON s.user_id = c.user_id;
INSERT INTO prompts.embeddings (source_type, source_id, user_id, intent, embedding, model_version)
SELECT 'history', h.id, h.user_id, h.intent, array_fill(h.n::real, ARRAY[768])::vector, 'm'
FROM (SELECT *, row_number() OVER (ORDER BY id) AS n FROM prompts.history) h WHERE h.n % 10 = 0;
INSERT INTO analytics.technique_effectiveness (technique, intent, day, success_count, total_count)
SELECT t, i, current_date - d, 1, 2
FROM unnest(public.technique_names()) t, unnest(public.intent_names()) i, generate_series(0, 20) d;
INSERT INTO analytics.user_activity (user_id, activity_type, session_id)
SELECT s.user_id, (ARRAY['login', 'logout', 'enhance', 'feedback', 'save_prompt', 'api_call', 'settings_change',
                         'password_reset'])[1 + (row_number() OVER ()) % 8], s.id
FROM auth.sessions s;
INSERT INTO analytics.api_metrics (api_key_id, endpoint, method, status_code, response_time_ms, created_at)
SELECT k.id, '/v1/endpoint' || i % 20, 'GET', CASE WHEN i % 50 = 0 THEN 503 ELSE 200 END, 1,
       now() - i * interval '1 minute'
FROM auth.api_keys k, generate_series(1, 5) i;
"""

TABLES = (
    "auth.users", "auth.sessions", "auth.api_keys", "prompts.templates", "prompts.history",
    "prompts.intent_patterns", "prompts.saved_prompts", "prompts.collections", "prompts.collection_prompts",
    "prompts.embeddings", "analytics.technique_effectiveness", "analytics.user_activity", "analytics.api_metrics",
)  # fmt: skip


async def sample_rows(conn: asyncpg.Connection) -> dict[str, Any]:
    """Fill every table with a little data, analyse it, and name the values the queries ask about."""
    await conn.execute(USERS, BCRYPT_SHAPED)
    await conn.execute(FILL)
    for table in TABLES:
        await conn.execute(f"ANALYZE {table}")
    user = await conn.fetchval("SELECT id FROM auth.users WHERE username = 'user1'")
    history = await conn.fetchrow("SELECT id, created_at, session_id FROM prompts.history WHERE user_id = $1 LIMIT 1",
                                  user)  # fmt: skip
    await register_codecs(conn)
    return {
        "user": user, "session": history["session_id"], "history": history["id"],
        "history_created_at": history["created_at"],
        "saved_prompt": await conn.fetchval("SELECT id FROM prompts.saved_prompts WHERE user_id = $1 LIMIT 1", user),
        "key": await conn.fetchval("SELECT id FROM auth.api_keys WHERE user_id = $1 LIMIT 1", user),
        "tier": "pro", "active": True, "limit": 20, "k": 10, "technique": "few_shot", "intent": "reasoning",
        "category": "category_c", "tag": "tag3", "activity": "login", "endpoint": "/v1/endpoint3",
        # mid-month: a day's partition holding only that day leaves the BRIN nothing to skip
        "roll_up_day": date(2000, 1, 15),
        "vector": np.full(768, 0.5, dtype=np.float32),
    }  # fmt: skip


async def indexes_used(conn: asyncpg.Connection, query: Query, sample: dict[str, Any]) -> set[str]:
    """The indexes the plan of `query` reads, each named by its partitioned parent where it has one."""
    for setting in query.off:
        await conn.execute(f"SET LOCAL {setting} = off")
    try:
        plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {query.sql}", *(sample[a] for a in query.args))
    finally:
        for setting in query.off:
            await conn.execute(f"RESET {setting}")
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Index Name" in node:
                names.add(node["Index Name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(plan)  # EXPLAIN's JSON, decoded by the json codec
    rows = await conn.fetch(
        "SELECT DISTINCT coalesce(pg_partition_root(i.oid), i.oid)::regclass::text FROM pg_class i"
        " JOIN pg_namespace n ON n.oid = i.relnamespace WHERE i.relname = ANY($1) AND n.nspname = ANY($2)",
        sorted(names), list(APP_SCHEMAS),
    )  # fmt: skip
    return {r[0] for r in rows}


async def test_each_index_serves_the_query_it_is_there_for(pg_conn: asyncpg.Connection) -> None:
    sample = await sample_rows(pg_conn)
    unused = {index: query.why for index, query in SERVES.items()
              if index not in await indexes_used(pg_conn, query, sample)}  # fmt: skip
    assert unused == {}, "these indexes are not chosen for the query they are there for"


async def test_a_partial_index_answers_nothing_about_rows_outside_its_predicate(pg_conn: asyncpg.Connection) -> None:
    sample = await sample_rows(pg_conn)
    used = {index: query.why for index, query in OUTSIDE_PREDICATE.items()
            if index in await indexes_used(pg_conn, query, sample)}  # fmt: skip
    assert used == {}, "these partial indexes answer a query about rows their predicate leaves out"


async def test_every_index_that_enforces_nothing_has_a_query_it_serves(pg_conn: asyncpg.Connection) -> None:
    rows = await pg_conn.fetch(
        "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ANY($1) AND NOT i.indisunique AND NOT c.relispartition",
        list(APP_SCHEMAS),
    )
    assert {r[0] for r in rows} - SERVES.keys() == set(), "an index without a query it serves: add it to SERVES"
