"""What the suites asserted too little (#12): a new row's defaults, every trigger's UPDATE and
DELETE paths (not only INSERT), and what a new history partition inherits. Rolled back per test."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from suites.betterprompts.schema.rows import BCRYPT_SHAPED, history, insert, minimal_rows, user

# The defaults DOMAIN.md describes: a new user is an active, unverified 'user' on 'free' with no
# lockout; a key reads, 1000 per hour; a prompt is private; a pattern is unverified and manual…
DEFAULTS: dict[str, dict[str, Any]] = {
    "auth.users": {"is_active": True, "is_verified": False, "role": "user", "tier": "free", "preferences": {},
                   "metadata": {}, "failed_login_attempts": 0, "locked_until": None, "last_login_at": None,
                   "verification_token_hash": None, "reset_token_hash": None},
    "auth.sessions": {"revoked_at": None, "refresh_token_hash": None},
    "auth.api_keys": {"scopes": ["read"], "rate_limit": 1000, "rate_limit_window_seconds": 3600, "usage_count": 0,
                      "last_used_at": None, "expires_at": None, "is_active": True},
    "auth.user_preferences": {"preferred_techniques": [], "excluded_techniques": [], "complexity_preference": "auto",
                              "ui_theme": "system", "ui_language": "en", "email_notifications": True,
                              "analytics_opt_in": True, "custom_settings": {}},
    "prompts.templates": {"variables": [], "examples": [], "effectiveness_score": None, "usage_count": 0,
                          "is_active": True, "is_public": True, "created_by": None, "metadata": {}},
    "prompts.history": {"techniques_used": [], "technique_scores": {}, "feedback_score": None, "is_favorite": False,
                        "metadata": {}},
    "prompts.intent_patterns": {"confidence": 1.0, "is_verified": False, "verified_by": None, "source": "manual",
                                "metadata": {}},
    "prompts.saved_prompts": {"tags": [], "is_public": False, "share_token": None, "view_count": 0, "metadata": {},
                              "history_id": None, "history_created_at": None},
    "prompts.collections": {"is_public": False, "metadata": {}},
    "prompts.collection_prompts": {},
    "prompts.embeddings": {"user_id": None, "intent": None, "metadata": {}},
    "analytics.technique_effectiveness": {"success_count": 0, "total_count": 0, "avg_feedback_score": None},
    "analytics.user_activity": {"data": {}, "session_id": None},
    "analytics.daily_stats": {"total_requests": 0, "unique_users": 0, "new_users": 0, "total_enhancements": 0,
                              "error_count": 0, "technique_breakdown": {}, "intent_breakdown": {},
                              "hourly_breakdown": {}, "avg_response_time_ms": None},
    "analytics.api_metrics": {"api_key_id": None, "error_message": None},
}  # fmt: skip


def plain(value: Any) -> Any:
    """asyncpg without codecs returns json/jsonb as text."""
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


@pytest.mark.parametrize("table", sorted(DEFAULTS))
async def test_a_new_row_gets_the_documented_defaults(pg_conn: asyncpg.Connection, table: str) -> None:
    ids = await minimal_rows(pg_conn)
    row = await pg_conn.fetchrow(f"SELECT *, now() AS now FROM {table} WHERE id = $1", ids[table])
    assert row is not None
    assert {column: plain(row[column]) for column in DEFAULTS[table]} == DEFAULTS[table]
    assert isinstance(row["id"], uuid.UUID)
    assert row["created_at"] == row["updated_at"] == row["now"]


@pytest.mark.parametrize("table", sorted(DEFAULTS))
async def test_every_table_moves_updated_at_on_update(pg_conn: asyncpg.Connection, table: str) -> None:
    ids = await minimal_rows(pg_conn)
    await pg_conn.execute(f"UPDATE {table} SET updated_at = now() - interval '1 day', created_at = created_at"
                          " WHERE id = $1", ids[table])  # fmt: skip
    row = await pg_conn.fetchrow(f"SELECT created_at, updated_at, now() AS now FROM {table} WHERE id = $1", ids[table])
    assert row["updated_at"] == row["now"]  # the trigger overrode the explicit value


async def test_a_template_renamed_without_a_slug_gets_one_from_its_new_name(pg_conn: asyncpg.Connection) -> None:
    ids = await minimal_rows(pg_conn)
    template = ids["prompts.templates"]
    await pg_conn.execute("UPDATE prompts.templates SET name = 'Tree of Thoughts: Plans', slug = '' WHERE id = $1",
                          template)  # fmt: skip
    assert (
        await pg_conn.fetchval("SELECT slug FROM prompts.templates WHERE id = $1", template) == "tree-of-thoughts-plans"
    )
    other = await insert(pg_conn, "prompts.templates", {"name": "x", "technique": "few_shot", "category": "general",
                                                        "template_text": "x"})  # fmt: skip
    await pg_conn.execute("UPDATE prompts.templates SET name = 'Tree of Thoughts: Plans', slug = NULL WHERE id = $1",
                          other)  # fmt: skip
    assert await pg_conn.fetchval("SELECT slug FROM prompts.templates WHERE id = $1", other) == (
        "tree-of-thoughts-plans-" + other.hex[:8]
    )
    await pg_conn.execute("UPDATE prompts.templates SET name = 'Renamed' WHERE id = $1", template)
    assert (
        await pg_conn.fetchval("SELECT slug FROM prompts.templates WHERE id = $1", template) == "tree-of-thoughts-plans"
    )


async def test_an_intent_pattern_is_normalised_again_when_its_pattern_changes(pg_conn: asyncpg.Connection) -> None:
    ids = await minimal_rows(pg_conn)
    pattern = ids["prompts.intent_patterns"]
    await pg_conn.execute("UPDATE prompts.intent_patterns SET pattern = '  Summarise   THIS\tText ' WHERE id = $1",
                          pattern)  # fmt: skip
    normalised = await pg_conn.fetchval("SELECT normalized_pattern FROM prompts.intent_patterns WHERE id = $1", pattern)
    assert normalised == "summarise this text"
    await pg_conn.execute("UPDATE prompts.intent_patterns SET normalized_pattern = 'forged' WHERE id = $1", pattern)
    assert (
        await pg_conn.fetchval("SELECT normalized_pattern FROM prompts.intent_patterns WHERE id = $1", pattern)
        == "summarise this text"
    )


async def test_the_request_id_registry_follows_updates_and_deletes(pg_conn: asyncpg.Connection) -> None:
    owner = await user(pg_conn)
    entry = await history(pg_conn, owner, request_id="req-before")
    registry = "SELECT history_id FROM prompts.history_request_ids WHERE request_id = $1"
    await pg_conn.execute("UPDATE prompts.history SET request_id = 'req-after' WHERE id = $1", entry)
    assert (await pg_conn.fetchval(registry, "req-before"), await pg_conn.fetchval(registry, "req-after")) == (
        None,
        entry,
    )
    with pytest.raises(asyncpg.UniqueViolationError):  # the new id is taken across partitions too
        async with pg_conn.transaction():
            await history(pg_conn, owner, request_id="req-after", created_at=datetime(2020, 1, 1, tzinfo=UTC))
    await pg_conn.execute("DELETE FROM prompts.history WHERE id = $1", entry)
    assert await pg_conn.fetchval(registry, "req-after") is None
    await history(pg_conn, owner, request_id="req-after")  # free again once deleted


async def test_a_saved_prompt_relinked_to_history_takes_the_entrys_partition_key(pg_conn: asyncpg.Connection) -> None:
    ids = await minimal_rows(pg_conn)
    saved, entry = ids["prompts.saved_prompts"], ids["prompts.history"]
    link = "SELECT history_id, history_created_at FROM prompts.saved_prompts WHERE id = $1"
    await pg_conn.execute("UPDATE prompts.saved_prompts SET history_id = $2 WHERE id = $1", saved, entry)
    created = await pg_conn.fetchval("SELECT created_at FROM prompts.history WHERE id = $1", entry)
    assert tuple(await pg_conn.fetchrow(link, saved)) == (entry, created)
    await pg_conn.execute("UPDATE prompts.saved_prompts SET history_id = NULL WHERE id = $1", saved)
    assert tuple(await pg_conn.fetchrow(link, saved)) == (None, None)


async def test_a_new_history_partition_inherits_owner_indexes_and_row_security(pg_conn: asyncpg.Connection) -> None:
    assert await pg_conn.fetchval("SELECT prompts.create_history_partition('2099-01-01')") is True
    assert await pg_conn.fetchval("SELECT prompts.create_history_partition('2099-01-15')") is False  # it exists
    partition = "prompts.history_2099_01"
    owner = await pg_conn.fetchval("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = $1::regclass", partition)
    assert owner == "bp_owner"
    indexes = "SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass"
    assert await pg_conn.fetchval(indexes, partition) == await pg_conn.fetchval(indexes, "prompts.history") > 0
    for role in ("bp_app", "bp_readonly"):  # reached only through the parent, where RLS applies
        assert not await pg_conn.fetchval("SELECT has_table_privilege($1, $2, 'SELECT')", role, partition)
    owner_id = await user(pg_conn)
    entry = await history(pg_conn, owner_id, created_at=datetime(2099, 1, 20, tzinfo=UTC))
    assert await pg_conn.fetchval("SELECT tableoid::regclass::text FROM prompts.history WHERE id = $1", entry) == (
        partition
    )


async def test_the_schema_refuses_a_password_hash_that_is_not_bcrypt(pg_conn: asyncpg.Connection) -> None:
    """The hash check also holds on UPDATE, not only on INSERT."""
    owner = await user(pg_conn, password_hash=BCRYPT_SHAPED)
    with pytest.raises(asyncpg.CheckViolationError):
        await pg_conn.execute("UPDATE auth.users SET password_hash = 'plain' WHERE id = $1", owner)
