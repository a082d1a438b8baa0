"""Constraints, triggers, cascades and SET NULLs of the BetterPrompts schema (rolled back per test)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from suites.betterprompts.schema.rows import history, insert, user


@pytest.mark.parametrize(
    ("column", "value"),
    [("email", "not-an-email"), ("username", "x"), ("password_hash", "plaintext"), ("role", "root"),
     ("tier", "platinum"), ("failed_login_attempts", -1), ("preferences", "[]")],
)  # fmt: skip
async def test_users_reject_out_of_range_values(pg_conn: asyncpg.Connection, column: str, value: object) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await user(pg_conn, None, **{column: value})


async def test_email_and_username_are_unique_case_insensitively(pg_conn: asyncpg.Connection) -> None:
    await user(pg_conn, "Alice")
    with pytest.raises(asyncpg.UniqueViolationError, match="users_email_lower_key"):
        async with pg_conn.transaction():  # a savepoint: the test's transaction stays usable
            await user(pg_conn, "bob", email="ALICE@example.com")
    with pytest.raises(asyncpg.UniqueViolationError, match="users_username_lower_key"):
        await user(pg_conn, "ALICE", email="other@example.com")


async def test_updated_at_moves_on_update_and_created_at_does_not(pg_conn: asyncpg.Connection) -> None:
    user_id = await user(pg_conn)
    await pg_conn.execute("UPDATE auth.users SET created_at = now() - interval '1 day' WHERE id = $1", user_id)
    await pg_conn.execute("UPDATE auth.users SET updated_at = now() - interval '1 day' WHERE id = $1", user_id)
    row = await pg_conn.fetchrow("SELECT created_at, updated_at, now() AS now FROM auth.users WHERE id = $1", user_id)
    assert row["updated_at"] == row["now"]  # the trigger overrode the explicit value
    assert row["created_at"] < row["now"]


async def test_template_slug_is_generated_from_the_name_and_kept_unique(pg_conn: asyncpg.Connection) -> None:
    values = {"name": "Chain of Thought: Math!", "technique": "chain_of_thought", "category": "math",
              "template_text": "Think step by step: {problem}"}  # fmt: skip
    first = await insert(pg_conn, "prompts.templates", values)
    second = await insert(pg_conn, "prompts.templates", values)
    slugs = {r["id"]: r["slug"] for r in await pg_conn.fetch("SELECT id, slug FROM prompts.templates")}
    assert slugs[first] == "chain-of-thought-math"
    assert slugs[second] == "chain-of-thought-math-" + second.hex[:8]
    explicit = await insert(pg_conn, "prompts.templates", {**values, "slug": "my-own"})
    assert await pg_conn.fetchval("SELECT slug FROM prompts.templates WHERE id = $1", explicit) == "my-own"


async def test_intent_patterns_are_normalised_and_unique_per_intent(pg_conn: asyncpg.Connection) -> None:
    pattern = {"pattern": "  Explain   QUANTUM computing\t", "intent": "question_answering"}
    pattern_id = await insert(pg_conn, "prompts.intent_patterns", pattern)
    normalized = await pg_conn.fetchval(
        "SELECT normalized_pattern FROM prompts.intent_patterns WHERE id = $1", pattern_id
    )
    assert normalized == "explain quantum computing"
    with pytest.raises(asyncpg.UniqueViolationError):
        await insert(
            pg_conn, "prompts.intent_patterns", {"pattern": "explain quantum COMPUTING", "intent": "question_answering"}
        )


@pytest.mark.parametrize(
    ("column", "value"),
    [("intent", "astrology"), ("techniques_used", ["chain_of_thought", "magic"]), ("feedback_score", 6),
     ("feedback_score", 0),
     ("intent_confidence", 1.5), ("complexity", "extreme"), ("technique_scores", "[1]"), ("original_input", "")],
)  # fmt: skip
async def test_history_rejects_out_of_range_values(pg_conn: asyncpg.Connection, column: str, value: object) -> None:
    user_id = await user(pg_conn)
    with pytest.raises(asyncpg.CheckViolationError):
        await history(pg_conn, user_id, **{column: value})


async def test_deleting_a_user_cascades_to_owned_rows_and_nulls_history(pg_conn: asyncpg.Connection) -> None:
    user_id = await user(pg_conn)
    expires_at = await pg_conn.fetchval("SELECT now() + interval '1 day'")
    session_id = await insert(
        pg_conn, "auth.sessions", {"user_id": user_id, "token_hash": uuid.uuid4().hex, "expires_at": expires_at}
    )
    history_id = await history(pg_conn, user_id, session_id=session_id)
    saved = await insert(pg_conn, "prompts.saved_prompts", {"user_id": user_id, "history_id": history_id,
                                                            "title": "mine", "prompt_text": "p"})  # fmt: skip
    await insert(pg_conn, "auth.api_keys", {"user_id": user_id, "name": "ci", "key_prefix": "bp_test", "key_hash": "h"})
    await insert(pg_conn, "auth.user_preferences", {"user_id": user_id})
    await pg_conn.execute("DELETE FROM auth.users WHERE id = $1", user_id)
    for table in ("auth.sessions", "auth.api_keys", "auth.user_preferences", "prompts.saved_prompts"):
        assert await pg_conn.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = $1", user_id) == 0, table
    row = await pg_conn.fetchrow("SELECT user_id, session_id FROM prompts.history WHERE id = $1", history_id)
    assert (row["user_id"], row["session_id"]) == (None, None)  # history outlives its user, anonymised
    assert await pg_conn.fetchval("SELECT count(*) FROM prompts.saved_prompts WHERE id = $1", saved) == 0


async def test_deleting_history_nulls_the_saved_prompts_link(pg_conn: asyncpg.Connection) -> None:
    user_id = await user(pg_conn)
    history_id = await history(pg_conn, user_id)
    saved = await insert(pg_conn, "prompts.saved_prompts", {"user_id": user_id, "history_id": history_id,
                                                            "title": "kept", "prompt_text": "p"})  # fmt: skip
    row = await pg_conn.fetchrow(
        "SELECT history_id, history_created_at FROM prompts.saved_prompts WHERE id = $1", saved
    )
    assert row["history_id"] == history_id
    assert row["history_created_at"] is not None  # filled by the trigger from the history row
    await pg_conn.execute("DELETE FROM prompts.history WHERE id = $1", history_id)
    row = await pg_conn.fetchrow(
        "SELECT history_id, history_created_at FROM prompts.saved_prompts WHERE id = $1", saved
    )
    assert (row["history_id"], row["history_created_at"]) == (None, None)


async def test_collection_positions_are_unique_but_swappable_in_one_transaction(pg_conn: asyncpg.Connection) -> None:
    user_id = await user(pg_conn)
    collection = await insert(pg_conn, "prompts.collections", {"user_id": user_id, "name": "favs"})
    prompts = [await insert(pg_conn, "prompts.saved_prompts", {"user_id": user_id, "title": t, "prompt_text": t})
               for t in ("a", "b")]  # fmt: skip
    for position, prompt in enumerate(prompts):
        await insert(pg_conn, "prompts.collection_prompts",
                     {"collection_id": collection, "saved_prompt_id": prompt, "position": position})  # fmt: skip
    with pytest.raises(asyncpg.UniqueViolationError):
        async with pg_conn.transaction():
            await pg_conn.execute(
                "UPDATE prompts.collection_prompts SET position = 0 WHERE saved_prompt_id = $1", prompts[1]
            )
    async with pg_conn.transaction():
        await pg_conn.execute("SET CONSTRAINTS prompts.collection_prompts_position_key DEFERRED")
        await pg_conn.execute(
            "UPDATE prompts.collection_prompts SET position = 1 - position WHERE collection_id = $1", collection
        )
    order = await pg_conn.fetch("SELECT saved_prompt_id FROM prompts.collection_prompts ORDER BY position")
    assert [r[0] for r in order] == prompts[::-1]


async def test_share_tokens_only_on_public_prompts(pg_conn: asyncpg.Connection) -> None:
    user_id = await user(pg_conn)
    with pytest.raises(asyncpg.CheckViolationError, match="saved_prompts_shared_only_if_public"):
        await insert(pg_conn, "prompts.saved_prompts", {"user_id": user_id, "title": "t", "prompt_text": "p",
                                                        "share_token": "a" * 20})  # fmt: skip


async def test_effectiveness_counters_stay_consistent(pg_conn: asyncpg.Connection) -> None:
    values = {"technique": "few_shot", "intent": "reasoning", "day": await pg_conn.fetchval("SELECT current_date")}
    await insert(pg_conn, "analytics.technique_effectiveness", {**values, "success_count": 1, "total_count": 2})
    with pytest.raises(asyncpg.UniqueViolationError):
        async with pg_conn.transaction():
            await insert(pg_conn, "analytics.technique_effectiveness", values)
    with pytest.raises(asyncpg.CheckViolationError, match="success_within_total"):
        await pg_conn.execute("UPDATE analytics.technique_effectiveness SET success_count = 3")


async def test_embeddings_have_the_configured_dimension(pg_conn: asyncpg.Connection) -> None:
    assert (
        await pg_conn.fetchval(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'prompts.embeddings'::regclass"
            " AND attname = 'embedding'"
        )
        == "vector(768)"
    )
    with pytest.raises(asyncpg.DataError, match="expected 768 dimensions"):
        await pg_conn.execute(
            "INSERT INTO prompts.embeddings (source_type, source_id, embedding, model_version)"
            " VALUES ('template', gen_random_uuid(), '[1,2,3]', 'm')"
        )


async def test_similarity_search_uses_the_hnsw_index(pg_conn: asyncpg.Connection) -> None:
    await pg_conn.execute("SET LOCAL enable_seqscan = off")
    plan = await pg_conn.fetch(
        "EXPLAIN SELECT id FROM prompts.embeddings ORDER BY embedding <=> array_fill(0.1, ARRAY[768])::vector LIMIT 10"
    )
    assert "embeddings_embedding_hnsw_idx" in "\n".join(row[0] for row in plan)
