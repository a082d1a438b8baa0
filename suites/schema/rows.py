"""Minimal valid rows of the BetterPrompts schema, for tests that need one to stand on."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

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
