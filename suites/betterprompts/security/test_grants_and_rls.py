"""The attacker holds the application's credentials: real logins as bp_app (and bp_readonly), on a
database whose rows the superuser committed first. Every refusal of 0008_least_privilege is
proved here: rows stay their owner's, shared reference data is read-only, role, tier, lockout
and counters change only through the functions that own them, and no login becomes another."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
import numpy as np
import pytest
import pytest_asyncio

from betterprompts_db.data.errors import PermissionDenied
from betterprompts_db.data.postgres import DataLayer, Enhancement
from betterprompts_db.data.postgres.codecs import register_codecs
from harness.pytest_plugin import Database
from suites.betterprompts.schema.rows import history, insert, user


@dataclass(frozen=True)
class World:
    alice: uuid.UUID
    bob: uuid.UUID
    bobs_key: uuid.UUID
    bobs_saved_prompt: uuid.UUID
    alices_collection: uuid.UUID
    shared_embeddings: int


Login = Callable[..., Awaitable[asyncpg.Connection]]


@pytest_asyncio.fixture
async def world(fresh_database: Database) -> World:
    """Two users with rows of every kind, a template with its shared embedding, an intent pattern,
    a technique counter and an API metric: committed by the superuser, as a seed would be."""
    conn = await asyncpg.connect(fresh_database.dsn)
    try:
        alice, bob = await user(conn, "alice"), await user(conn, "bob")
        keys, saved = {}, {}
        for owner in (alice, bob):
            await history(conn, owner)
            saved[owner] = await insert(conn, "prompts.saved_prompts", {"user_id": owner, "title": "t",
                                                                         "prompt_text": "p"})  # fmt: skip
            await insert(conn, "prompts.collections", {"user_id": owner, "name": "c"})
            keys[owner] = await insert(conn, "auth.api_keys", {"user_id": owner, "name": "k", "key_prefix": "bp_k",
                                                               "key_hash": uuid.uuid4().hex})  # fmt: skip
        collection = await conn.fetchval("SELECT id FROM prompts.collections WHERE user_id = $1", alice)
        template = await insert(conn, "prompts.templates", {"name": "Steps", "technique": "step_by_step",
                                                            "category": "general", "template_text": "{x}"})  # fmt: skip
        await insert(conn, "prompts.intent_patterns", {"pattern": "explain x", "intent": "reasoning"})
        vector = np.ones(768, dtype=np.float32) / np.sqrt(768)
        await conn.execute(
            "INSERT INTO prompts.embeddings (source_type, source_id, embedding, model_version)"
            " VALUES ('template', $1, $2::text::vector, 'm')", template, str(vector.tolist()),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO analytics.technique_effectiveness (technique, intent, day, success_count, total_count)"
            " VALUES ('few_shot', 'reasoning', current_date, 3, 7)"
        )
        await insert(conn, "analytics.api_metrics", {"api_key_id": keys[bob], "endpoint": "/e", "method": "GET",
                                                     "status_code": 200, "response_time_ms": 1.0})  # fmt: skip
        shared = await conn.fetchval("SELECT count(*) FROM prompts.embeddings WHERE user_id IS NULL")
    finally:
        await conn.close()
    return World(alice, bob, keys[bob], saved[bob], collection, shared)


@pytest_asyncio.fixture
async def login(fresh_database: Database) -> AsyncIterator[Login]:
    """`await login(role, acting_user=None)`: a connection logged in as `role` with its own
    password, acting for `acting_user` for the whole session (the application sets it per
    transaction; an attacker sets whatever it likes)."""
    opened: list[asyncpg.Connection] = []

    async def open_as(role: str, acting_user: uuid.UUID | None = None) -> asyncpg.Connection:
        conn = await asyncpg.connect(fresh_database.dsn_as(role))
        opened.append(conn)
        await conn.execute("SELECT set_config('app.user_id', $1, false)", str(acting_user or ""))
        return conn

    yield open_as
    for conn in opened:
        await conn.close()


async def refused(conn: asyncpg.Connection, statement: str, *args: object) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(statement, *args)


USER_OWNED = {
    "prompts.history": "metadata",
    "prompts.saved_prompts": "metadata",
    "prompts.collections": "metadata",
    "auth.api_keys": "name",
}  # fmt: skip  (table: a column bp_app may update)


@pytest.mark.parametrize(("table", "column"), USER_OWNED.items())
async def test_the_app_login_reads_updates_and_deletes_only_the_acting_users_rows(
    world: World, login: Login, table: str, column: str
) -> None:
    app = await login("bp_app", world.alice)
    assert {r[0] for r in await app.fetch(f"SELECT user_id FROM {table}")} == {world.alice}
    assert (
        await app.fetchval(f"UPDATE {table} SET {column} = {column} WHERE user_id = $1 RETURNING 1", world.bob) is None
    )
    assert await app.fetchval(f"DELETE FROM {table} WHERE user_id = $1 RETURNING 1", world.bob) is None


@pytest.mark.parametrize("table", USER_OWNED)
async def test_the_app_login_sees_nothing_without_an_acting_user(world: World, login: Login, table: str) -> None:
    app = await login("bp_app")
    assert await app.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_a_row_cannot_be_written_for_or_moved_to_another_user(world: World, login: Login) -> None:
    app = await login("bp_app", world.alice)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await history(app, world.bob)
    for table in USER_OWNED:  # the owner column is not the application's to change
        await refused(app, f"UPDATE {table} SET user_id = $1 WHERE user_id = $2", world.bob, world.alice)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):  # bob's prompt, her collection
        await app.execute(
            "INSERT INTO prompts.collection_prompts (collection_id, saved_prompt_id, position) VALUES ($1, $2, 0)",
            world.alices_collection, world.bobs_saved_prompt,
        )  # fmt: skip


async def test_shared_embeddings_are_read_by_everyone_and_changed_by_no_one(world: World, login: Login) -> None:
    app = await login("bp_app", world.alice)
    assert (
        await app.fetchval("SELECT count(*) FROM prompts.embeddings WHERE user_id IS NULL") == world.shared_embeddings
    )
    assert await app.fetchval("DELETE FROM prompts.embeddings WHERE user_id IS NULL RETURNING 1") is None
    assert await app.fetchval("UPDATE prompts.embeddings SET metadata = '{\"x\": 1}' RETURNING 1") is None
    await refused(app, "UPDATE prompts.embeddings SET user_id = $1 WHERE user_id IS NULL", world.alice)
    vector = np.ones(768) / np.sqrt(768)
    await register_codecs(app)
    for user_id, source_type in ((None, "template"), (world.alice, "template"), (world.alice, "intent_pattern")):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            await app.execute(
                "INSERT INTO prompts.embeddings (source_type, source_id, user_id, embedding, model_version)"
                " VALUES ($1, $2, $3, $4, 'm')", source_type, uuid.uuid4(), user_id, vector,
            )  # fmt: skip
    assert (
        await app.fetchval("SELECT count(*) FROM prompts.embeddings WHERE user_id IS NULL") == world.shared_embeddings
    )


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM prompts.templates", "UPDATE prompts.templates SET is_active = false",
     "INSERT INTO prompts.templates (name, technique, category, template_text) VALUES ('n', 'few_shot', 'c', 't')",
     "DELETE FROM prompts.intent_patterns", "UPDATE prompts.intent_patterns SET is_verified = true",
     "UPDATE analytics.technique_effectiveness SET total_count = 0, success_count = 0",
     "DELETE FROM analytics.technique_effectiveness",
     "INSERT INTO analytics.technique_effectiveness (technique, intent, day)"
     " VALUES ('few_shot', 'reasoning', '2000-01-01')",
     "DELETE FROM analytics.daily_stats", "SELECT * FROM analytics.api_metrics", "DELETE FROM analytics.api_metrics",
     "DELETE FROM analytics.user_activity", "TRUNCATE prompts.embeddings"],
)  # fmt: skip
async def test_shared_reference_data_and_analytics_are_not_the_app_logins_to_write(
    world: World, login: Login, statement: str
) -> None:
    await refused(await login("bp_app", world.alice), statement)


@pytest.mark.parametrize(
    "assignment",
    ["role = 'admin'", "tier = 'enterprise'", "is_verified = true", "is_active = true", "failed_login_attempts = 0",
     "locked_until = NULL", "last_login_at = now()"],
)  # fmt: skip
async def test_users_cannot_promote_themselves_or_reset_their_lockout(
    world: World, login: Login, assignment: str
) -> None:
    app = await login("bp_app", world.alice)
    await refused(app, f"UPDATE auth.users SET {assignment} WHERE id = $1", world.alice)


async def test_the_data_layer_refuses_self_promotion_as_permission_denied(data: DataLayer) -> None:
    someone = await data.auth.register(email="eve@example.com", username="eve", password="pw")
    async with data.db.transaction(user_id=someone.id):
        for change in ({"role": "admin"}, {"tier": "enterprise"}, {"failed_login_attempts": 0}, {"locked_until": None}):
            with pytest.raises(PermissionDenied):
                async with data.db.transaction():  # a savepoint per refused statement
                    await data.repos.users.update(someone.id, **change)
    with pytest.raises(PermissionDenied):
        await data.auth.register(email="mallory@example.com", username="mallory", password="pw", role="admin")


@pytest.mark.parametrize(
    "statement",
    [
        "SET ROLE {superuser}",
        "SET ROLE bp_owner",
        "SET ROLE bp_readonly",
        "SET SESSION AUTHORIZATION {superuser}",
        "SET SESSION AUTHORIZATION bp_owner",
    ],
)
async def test_the_app_login_cannot_become_anyone_else(world: World, login: Login, statement: str) -> None:
    app = await login("bp_app", world.alice)
    await app.execute("RESET ROLE")
    assert await app.fetchval("SELECT current_user") == "bp_app"
    # The bootstrap superuser is whoever ran initdb: `postgres` embedded, POSTGRES_USER elsewhere.
    superuser = await app.fetchval("SELECT quote_ident(rolname) FROM pg_roles WHERE oid = 10")
    await refused(app, statement.format(superuser=superuser))
    assert (await app.fetchval("SELECT current_user"), await app.fetchval("SELECT session_user")) == (
        "bp_app",
        "bp_app",
    )


@pytest.mark.parametrize(
    "statement",
    ["CREATE TABLE prompts.intruder (id int)", "CREATE TABLE public.intruder (id int)",
     "CREATE TABLE auth.intruder (id int)", "CREATE SCHEMA intruder", "CREATE FUNCTION public.f() RETURNS int"
     " LANGUAGE sql AS 'SELECT 1'", "TRUNCATE prompts.history", "DROP TABLE prompts.templates",
     "ALTER TABLE auth.users ADD COLUMN x int", "SELECT * FROM harness.schema_migrations",
     "SELECT prompts.ensure_history_partitions(12)"],
)  # fmt: skip
@pytest.mark.parametrize("role", ["bp_app", "bp_readonly"])
async def test_no_login_changes_the_schema_or_reads_the_migration_table(
    world: World, login: Login, role: str, statement: str
) -> None:
    await refused(await login(role, world.alice), statement)


async def test_the_operations_that_own_the_counters_check_whom_they_act_for(world: World, login: Login) -> None:
    app = await login("bp_app", world.alice)
    await refused(app, "SELECT * FROM auth.record_login_success($1)", world.bob)
    await refused(app, "SELECT auth.record_login_failure($1, 5, '1 day')", world.bob)
    await refused(app, "SELECT analytics.record_api_metric($1, '/x', 'GET', 200, 1, NULL, NULL, NULL)", world.bobs_key)
    assert await app.fetchval("SELECT count(*) FROM auth.use_api_key($1)", world.bobs_key) == 0
    await refused(
        app,
        "SELECT * FROM prompts.record_anonymous_enhancement('r', 'i', 'o', 'reasoning', 0.5, NULL, '{}', '{}',"
        " 1, NULL, NULL, NULL, 'm')",
    )  # fmt: skip  (an acting user is not anonymous)
    with pytest.raises(asyncpg.CheckViolationError):
        await app.execute("SELECT analytics.count_technique('telepathy', 'reasoning', current_date, false, 1)")
    with pytest.raises(asyncpg.InvalidParameterValueError):
        await app.execute("SELECT analytics.count_technique('few_shot', 'reasoning', $1, false, 1)",
                          date.today() + timedelta(days=30))  # fmt: skip
    with pytest.raises(asyncpg.InvalidParameterValueError):
        await app.execute("SELECT analytics.count_technique('few_shot', 'reasoning', current_date, false, 'NaN')")
    owner = await login("bp_owner")
    assert await owner.fetchval("SELECT failed_login_attempts FROM auth.users WHERE id = $1", world.bob) == 0
    assert await owner.fetchval("SELECT usage_count FROM auth.api_keys WHERE id = $1", world.bobs_key) == 0


async def test_an_anonymous_enhancement_is_recorded_as_the_app_login_and_read_by_no_user(
    world: World, data: DataLayer, login: Login
) -> None:
    vector = np.ones(768) / np.sqrt(768)
    entry = await data.prompts.record_enhancement(Enhancement(
        user_id=None, request_id="r-anon", original_input="i", enhanced_output="o", intent="reasoning",
        intent_confidence=0.5, techniques_used=["few_shot"], processing_time_ms=3, embedding=vector))  # fmt: skip
    assert entry.user_id is None
    for acting in (world.alice, None):
        app = await login("bp_app", acting)
        assert await app.fetchval("SELECT count(*) FROM prompts.history WHERE id = $1", entry.id) == 0
    owner = await login("bp_owner")
    assert await owner.fetchval("SELECT count(*) FROM prompts.embeddings WHERE source_id = $1", entry.id) == 1
    assert (
        await owner.fetchval(
            "SELECT total_count FROM analytics.technique_effectiveness WHERE technique ="
            " 'few_shot' AND intent = 'reasoning' AND day = $1",
            entry.created_at.date(),
        )
        >= 1
    )


async def test_the_readonly_login_reads_everyone_but_no_secrets_and_writes_nothing(world: World, login: Login) -> None:
    readonly = await login("bp_readonly")
    assert await readonly.fetchval("SELECT count(DISTINCT user_id) FROM prompts.history") == 2
    assert await readonly.fetchval("SELECT count(*) FROM auth.users WHERE username IN ('alice', 'bob')") == 2
    for statement in (
        "SELECT password_hash FROM auth.users", "SELECT token_hash FROM auth.sessions",
        "SELECT key_hash FROM auth.api_keys", "SELECT * FROM auth.find_login('alice@example.com')",
        "INSERT INTO prompts.collections (user_id, name) SELECT id, 'x' FROM auth.users LIMIT 1",
        "DELETE FROM prompts.history", "SELECT analytics.count_success('few_shot', 'reasoning', current_date)",
    ):  # fmt: skip
        await refused(readonly, statement)
