"""Minimal valid rows of the BetterPrompts schema, for tests that need one to stand on."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import asyncpg

BCRYPT_SHAPED = "$2b$12$" + "a" * 53


async def user(conn: asyncpg.Connection, handle: str | None = None, **columns: object) -> uuid.UUID:
    name = handle or f"u{uuid.uuid4().hex[:10]}"
    values = {"email": f"{name}@example.com", "username": name, "password_hash": BCRYPT_SHAPED, **columns}
    return await insert(conn, "auth.users", values)


async def history(conn: asyncpg.Connection, user_id: uuid.UUID | None, **columns: object) -> uuid.UUID:
    values = {"user_id": user_id, "request_id": f"req-{uuid.uuid4().hex}", "original_input": "explain monads",
              "enhanced_output": "Let's think step by step about monads.", **columns}  # fmt: skip
    return await insert(conn, "prompts.history", values)


async def insert(conn: asyncpg.Connection, table: str, values: Mapping[str, object]) -> uuid.UUID:
    columns = ", ".join(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    row_id: uuid.UUID = await conn.fetchval(
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id", *values.values()
    )
    return row_id


async def minimal_rows(conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    """One row per table with only its required columns: everything else is the schema's default."""
    today = await conn.fetchval("SELECT current_date")
    owner = await user(conn)
    saved = await insert(conn, "prompts.saved_prompts", {"user_id": owner, "title": "t", "prompt_text": "p"})
    collection = await insert(conn, "prompts.collections", {"user_id": owner, "name": "c"})
    required: dict[str, dict[str, object]] = {
        "auth.sessions": {"user_id": owner, "token_hash": uuid.uuid4().hex,
                          "expires_at": datetime.now(UTC) + timedelta(days=1)},
        "auth.api_keys": {"user_id": owner, "name": "k", "key_prefix": "bp_k", "key_hash": uuid.uuid4().hex},
        "auth.user_preferences": {"user_id": owner},
        "prompts.templates": {"name": "T", "technique": "few_shot", "category": "general", "template_text": "x"},
        "prompts.intent_patterns": {"pattern": "p", "intent": "reasoning"},
        "prompts.collection_prompts": {"collection_id": collection, "saved_prompt_id": saved, "position": 0},
        "analytics.technique_effectiveness": {"technique": "few_shot", "intent": "reasoning", "day": today},
        "analytics.user_activity": {"user_id": owner, "activity_type": "login"},
        "analytics.daily_stats": {"day": today},
        "analytics.api_metrics": {"endpoint": "/e", "method": "GET", "status_code": 200, "response_time_ms": 1},
    }  # fmt: skip
    ids = {table: await insert(conn, table, values) for table, values in required.items()}
    ids["prompts.embeddings"] = await conn.fetchval(
        "INSERT INTO prompts.embeddings (source_type, source_id, embedding, model_version)"
        " VALUES ('template', $1, array_fill(0.1, ARRAY[768])::vector, 'm') RETURNING id", uuid.uuid4(),
    )  # fmt: skip
    return {**ids, "auth.users": owner, "prompts.history": await history(conn, owner), "prompts.saved_prompts": saved,
            "prompts.collections": collection}  # fmt: skip
