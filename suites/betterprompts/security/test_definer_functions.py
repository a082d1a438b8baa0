"""The SECURITY DEFINER operations run with their owner's rights, so nothing the caller controls may
change what they do. The attacker holds bp_app's credentials: it can create temporary tables (and
so temporary types) and put pg_temp first in its search_path, and a definer function that used the
caller's path would resolve its names there. PostgreSQL's "Writing SECURITY DEFINER Functions
Safely" gives the rule: pin search_path, with no schema untrusted users can write, pg_temp last."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import asyncpg
import pytest_asyncio

from harness.pytest_plugin import Database
from suites.betterprompts.schema.rows import insert, user

APP_SCHEMAS = ["auth", "prompts", "analytics"]
LOGINS = ("bp_app", "bp_readonly")
# The unqualified names the operations' bodies (and the functions they call) could resolve through
# a search_path: the types they declare or cast to, and the tables they work on.
SHADOWED = (
    "uuid", "text", "date", "timestamptz", "jsonb", "vector", "users", "sessions", "api_keys", "saved_prompts",
    "history", "history_request_ids", "technique_effectiveness", "api_metrics", "embeddings",
)  # fmt: skip


@dataclass(frozen=True)
class World:
    alice: uuid.UUID
    email: str
    session: uuid.UUID
    session_token_hash: str
    key: uuid.UUID
    key_hash: str
    prompt: uuid.UUID
    share_token: str


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest_asyncio.fixture
async def world(fresh_database: Database) -> World:
    """Alice with a session, an API key and a shared prompt, committed as a seed would be."""
    conn = await asyncpg.connect(fresh_database.dsn)
    try:
        alice = await user(conn, "alice")
        token_hash, key_hash, share_token = sha256("session"), sha256("key"), "share_" + uuid.uuid4().hex
        session = await conn.fetchval(
            "INSERT INTO auth.sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '1 day')"
            " RETURNING id", alice, token_hash,
        )  # fmt: skip
        key = await insert(conn, "auth.api_keys", {"user_id": alice, "name": "k", "key_prefix": "bp_k",
                                                   "key_hash": key_hash})  # fmt: skip
        shared = {"user_id": alice, "title": "t", "prompt_text": "p", "is_public": True, "share_token": share_token}
        prompt = await insert(conn, "prompts.saved_prompts", shared)
    finally:
        await conn.close()
    return World(alice, "alice@example.com", session, token_hash, key, key_hash, prompt, share_token)


@pytest_asyncio.fixture
async def owner(fresh_database: Database) -> AsyncIterator[asyncpg.Connection]:
    """The admin login, to read what the operations wrote."""
    conn = await asyncpg.connect(fresh_database.dsn)
    yield conn
    await conn.close()


async def hostile_app_login(database: Database, acting_user: uuid.UUID | None) -> asyncpg.Connection:
    """bp_app with a temporary table under every name the operations use, and pg_temp searched
    first (which the caller may do: pg_catalog is searched first only when the path omits it)."""
    conn = await asyncpg.connect(database.dsn_as("bp_app"))
    await conn.execute("SELECT set_config('app.user_id', $1, false)", str(acting_user or ""))
    for name in SHADOWED:
        await conn.execute(f"CREATE TEMP TABLE {name} (id integer, user_id integer, created_at integer)")
    await conn.execute("SET search_path = pg_temp, pg_catalog")
    return conn


async def test_the_look_ups_find_what_they_look_up_whatever_the_caller_shadows(
    fresh_database: Database, world: World
) -> None:
    app = await hostile_app_login(fresh_database, None)
    try:
        assert await app.fetchval("SELECT id FROM auth.find_login($1)", world.email.upper()) == world.alice
        assert await app.fetchval("SELECT user_id FROM auth.find_session($1)", world.session_token_hash) == world.alice
        assert await app.fetchval("SELECT id FROM auth.find_api_key($1)", world.key_hash) == world.key
        assert await app.fetchval("SELECT id FROM prompts.find_shared_prompt($1)", world.share_token) == world.prompt
    finally:
        await app.close()


async def test_the_operations_write_what_they_own_whatever_the_caller_shadows(
    fresh_database: Database, world: World, owner: asyncpg.Connection
) -> None:
    today: date = await owner.fetchval("SELECT current_date")
    app = await hostile_app_login(fresh_database, world.alice)
    try:
        assert await app.fetchval("SELECT auth.record_login_failure($1, 5, '1 minute')", world.alice) == 1
        assert await app.fetchval("SELECT failed_login_attempts FROM auth.record_login_success($1)", world.alice) == 0
        assert await app.fetchval("SELECT usage_count FROM auth.use_api_key($1)", world.key) == 1
        assert await app.fetchval("SELECT id FROM prompts.open_shared_prompt($1)", world.share_token) == world.prompt
        await app.execute("SELECT analytics.count_technique('few_shot', 'reasoning', $1, false, 2)", today)
        await app.execute("SELECT analytics.count_success('few_shot', 'reasoning', $1)", today)
        metric = await app.fetchval(
            "SELECT analytics.record_api_metric($1, '/v1/enhance', 'POST', 201, 3, NULL, NULL, NULL)", world.key
        )
    finally:
        await app.close()
    assert await owner.fetchval("SELECT last_login_at IS NOT NULL FROM auth.users WHERE id = $1", world.alice)
    assert await owner.fetchval("SELECT view_count FROM prompts.saved_prompts WHERE id = $1", world.prompt) == 1
    counter = await owner.fetchrow(
        "SELECT success_count, total_count FROM analytics.technique_effectiveness"
        " WHERE technique = 'few_shot' AND intent = 'reasoning' AND day = $1", today,
    )  # fmt: skip
    assert tuple(counter) == (1, 1)
    assert await owner.fetchval("SELECT api_key_id FROM analytics.api_metrics WHERE id = $1", metric) == world.key


async def test_an_anonymous_enhancement_is_recorded_whatever_the_caller_shadows(
    fresh_database: Database, owner: asyncpg.Connection
) -> None:
    app = await hostile_app_login(fresh_database, None)
    try:
        entry = await app.fetchval(
            "SELECT id FROM prompts.record_anonymous_enhancement('r-shadowed', 'i', 'o', 'reasoning', 0.5, NULL,"
            " '{few_shot}', '{}', 1, NULL, NULL, NULL, 'm')"
        )
    finally:
        await app.close()
    row = await owner.fetchrow("SELECT user_id, request_id FROM prompts.history WHERE id = $1", entry)
    assert tuple(row) == (None, "r-shadowed")
    registered = "SELECT history_id FROM prompts.history_request_ids WHERE request_id = 'r-shadowed'"
    assert await owner.fetchval(registered) == entry


async def test_every_definer_function_pins_a_search_path_with_pg_temp_last(fresh_database: Database) -> None:
    conn = await asyncpg.connect(fresh_database.dsn)
    try:
        rows = await conn.fetch(
            "SELECT p.oid::regprocedure::text AS name,"
            " (SELECT s FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%') AS setting"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.prosecdef AND n.nspname = ANY($1)",
            APP_SCHEMAS,
        )
        assert rows, "the schema's privileged operations are SECURITY DEFINER functions"
        unsafe = {}
        for name, setting in rows:
            path = [] if setting is None else [s.strip() for s in setting.removeprefix("search_path=").split(",")]
            writable = [
                (login, schema)
                for schema in path
                if schema != "pg_temp"
                for login in LOGINS
                if await conn.fetchval("SELECT has_schema_privilege($1, $2, 'CREATE')", login, schema)
            ]
            if not path or path[-1] != "pg_temp" or writable:
                unsafe[name] = setting
    finally:
        await conn.close()
    assert unsafe == {}, "a definer function must pin search_path: no schema a login can write, pg_temp last"


async def test_the_readonly_login_calls_no_definer_function(fresh_database: Database) -> None:
    """Reporting reads tables; the operations (and the look-ups by secret) are the application's."""
    conn = await asyncpg.connect(fresh_database.dsn_as("bp_readonly"))
    try:
        calls = await conn.fetch(
            "SELECT format('SELECT * FROM %s(%s)', p.oid::regproc,"
            "              (SELECT string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY i)"
            "               FROM unnest(p.proargtypes) WITH ORDINALITY a(t, i)))"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.prosecdef AND n.nspname = ANY($1) AND p.prorettype <> 'trigger'::regtype",
            APP_SCHEMAS,
        )
        assert calls
        callable_ = []
        for (call,) in calls:
            try:
                async with conn.transaction():
                    await conn.execute(call)
                callable_.append(call)
            except asyncpg.InsufficientPrivilegeError:
                pass
            except asyncpg.PostgresError:
                callable_.append(call)  # it ran, and refused its arguments
    finally:
        await conn.close()
    assert callable_ == []
