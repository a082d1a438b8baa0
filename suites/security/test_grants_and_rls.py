"""Grants and row-level security per role: bp_app sees only the acting user's rows, bp_readonly
reads without secrets, neither can change the schema."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from suites.schema.rows import history, insert, user


async def act_as(conn: asyncpg.Connection, role: str, user_id: uuid.UUID | None = None) -> None:
    await conn.execute(f"SET LOCAL ROLE {role}")
    await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user_id) if user_id else "")


@pytest.fixture
async def two_users(pg_conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    alice, bob = await user(pg_conn, "alice"), await user(pg_conn, "bob")
    for owner in (alice, bob):
        await history(pg_conn, owner)
        await insert(pg_conn, "prompts.saved_prompts", {"user_id": owner, "title": "t", "prompt_text": "p"})
        await insert(pg_conn, "prompts.collections", {"user_id": owner, "name": "c"})
        await insert(pg_conn, "auth.api_keys", {"user_id": owner, "name": "k", "key_prefix": "bp_k",
                                                "key_hash": uuid.uuid4().hex})  # fmt: skip
    return alice, bob


USER_OWNED = ["prompts.history", "prompts.saved_prompts", "prompts.collections", "auth.api_keys"]


@pytest.mark.parametrize("table", USER_OWNED)
async def test_the_app_role_reads_only_the_acting_users_rows(
    pg_conn: asyncpg.Connection, two_users: tuple[uuid.UUID, uuid.UUID], table: str
) -> None:
    alice, bob = two_users
    await act_as(pg_conn, "bp_app", alice)
    owners = {r[0] for r in await pg_conn.fetch(f"SELECT user_id FROM {table}")}
    assert owners == {alice}
    assert await pg_conn.fetchval(f"UPDATE {table} SET updated_at = now() WHERE user_id = $1 RETURNING 1", bob) is None
    assert await pg_conn.fetchval(f"DELETE FROM {table} WHERE user_id = $1 RETURNING 1", bob) is None


@pytest.mark.parametrize("table", USER_OWNED)
async def test_the_app_role_sees_nothing_without_an_acting_user(
    pg_conn: asyncpg.Connection, two_users: tuple[uuid.UUID, uuid.UUID], table: str
) -> None:
    await act_as(pg_conn, "bp_app", None)
    assert await pg_conn.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_the_app_role_cannot_write_rows_for_another_user(
    pg_conn: asyncpg.Connection, two_users: tuple[uuid.UUID, uuid.UUID]
) -> None:
    alice, bob = two_users
    await act_as(pg_conn, "bp_app", alice)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await history(pg_conn, bob)


async def test_the_app_role_finds_a_login_before_knowing_the_user(
    pg_conn: asyncpg.Connection, two_users: tuple[uuid.UUID, uuid.UUID]
) -> None:
    alice, _ = two_users
    await act_as(pg_conn, "bp_app", None)
    row = await pg_conn.fetchrow("SELECT * FROM auth.find_login($1)", "ALICE@example.com")
    assert row["id"] == alice
    assert row["password_hash"].startswith("$2b$")


@pytest.mark.parametrize(
    "statement",
    ["CREATE TABLE prompts.intruder (id int)", "TRUNCATE prompts.history", "DROP TABLE prompts.templates",
     "ALTER TABLE auth.users ADD COLUMN x int", "SELECT * FROM harness.schema_migrations"],
)  # fmt: skip
async def test_the_app_role_cannot_change_the_schema_or_read_the_migration_table(
    pg_conn: asyncpg.Connection, statement: str
) -> None:
    await act_as(pg_conn, "bp_app", uuid.uuid4())
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pg_conn.execute(statement)


async def test_the_readonly_role_reads_everyone_but_no_secrets(
    pg_conn: asyncpg.Connection, two_users: tuple[uuid.UUID, uuid.UUID]
) -> None:
    await act_as(pg_conn, "bp_readonly")
    assert await pg_conn.fetchval("SELECT count(DISTINCT user_id) FROM prompts.history") >= 2
    assert await pg_conn.fetchval("SELECT count(*) FROM auth.users WHERE username IN ('alice', 'bob')") == 2
    for secret in ("SELECT password_hash FROM auth.users", "SELECT token_hash FROM auth.sessions",
                   "SELECT key_hash FROM auth.api_keys", "INSERT INTO prompts.collections (user_id, name) "
                   "SELECT id, 'x' FROM auth.users LIMIT 1"):  # fmt: skip
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with pg_conn.transaction():  # a savepoint per refused statement
                await pg_conn.execute(secret)
