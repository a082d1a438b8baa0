"""What each real login may and may not do, command by command. Under row-level security a missing
policy refuses nothing loudly: the app's DELETE or UPDATE of its own row silently touches no row, so
the owner counts what really changed. The read-only login writes nothing anywhere, no login creates
objects or reaches a history partition past the parent's row security, and the operations the
application calls stay callable by it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio

from betterprompts_db.data.postgres import DataLayer
from harness.pytest_plugin import Database
from suites.betterprompts.schema.rows import history, insert, user
from suites.betterprompts.security import test_grants_and_rls
from suites.betterprompts.security.test_grants_and_rls import Login, refused

login = test_grants_and_rls.login  # its fixture of real logins, registered here under the same name

APP_SCHEMAS = ("auth", "prompts", "analytics")
LOGINS = ("bp_app", "bp_readonly")

# owned table → (the column naming its owner, a column bp_app may update, a new value for it as SQL)
OWNED = {
    "auth.users": ("id", "first_name", "'changed'"),
    "auth.sessions": ("user_id", "token_hash", "'changed'"),
    "auth.api_keys": ("user_id", "name", "'changed'"),
    "auth.user_preferences": ("user_id", "ui_theme", "'dark'"),
    "prompts.history": ("user_id", "feedback_text", "'changed'"),
    "prompts.saved_prompts": ("user_id", "title", "'changed'"),
    "prompts.collections": ("user_id", "name", "'changed'"),
    "prompts.collection_prompts": ("collection_id", "position", "7"),
    "prompts.embeddings": ("user_id", "model_version", "'changed'"),
}  # fmt: skip


@dataclass(frozen=True)
class Estate:
    """Alice's and Bob's row of every owned table: table → {user: row id}."""

    alice: uuid.UUID
    bob: uuid.UUID
    rows: dict[str, dict[uuid.UUID, uuid.UUID]]
    share_token: str

    def owner_value(self, table: str, owner: uuid.UUID) -> uuid.UUID:
        """What the ownership column holds on `owner`'s row (a collection entry's is its collection)."""
        return self.rows["prompts.collections"][owner] if table == "prompts.collection_prompts" else owner


@pytest_asyncio.fixture
async def estate(fresh_database: Database) -> Estate:
    """Alice and Bob, each with one row in every table a user owns, committed as a seed would be;
    Alice's saved prompt is shared by a link."""
    conn = await asyncpg.connect(fresh_database.dsn)
    rows: dict[str, dict[uuid.UUID, uuid.UUID]] = {table: {} for table in OWNED}
    share_token, tomorrow = "share_" + uuid.uuid4().hex, datetime.now(UTC) + timedelta(days=1)
    try:
        alice, bob = await user(conn, "alice"), await user(conn, "bob")
        for owner in (alice, bob):
            saved = await insert(conn, "prompts.saved_prompts", {
                "user_id": owner, "title": "t", "prompt_text": "p", "is_public": owner == alice,
                "share_token": share_token if owner == alice else None})  # fmt: skip
            collection = await insert(conn, "prompts.collections", {"user_id": owner, "name": "c"})
            rows["auth.users"][owner] = owner
            rows["auth.sessions"][owner] = await insert(conn, "auth.sessions", {
                "user_id": owner, "token_hash": uuid.uuid4().hex, "expires_at": tomorrow})  # fmt: skip
            rows["auth.api_keys"][owner] = await insert(conn, "auth.api_keys", {
                "user_id": owner, "name": "k", "key_prefix": "bp_k", "key_hash": uuid.uuid4().hex})  # fmt: skip
            rows["auth.user_preferences"][owner] = await insert(conn, "auth.user_preferences", {"user_id": owner})
            rows["prompts.history"][owner] = await history(conn, owner)
            rows["prompts.saved_prompts"][owner] = saved
            rows["prompts.collections"][owner] = collection
            rows["prompts.collection_prompts"][owner] = await insert(conn, "prompts.collection_prompts", {
                "collection_id": collection, "saved_prompt_id": saved, "position": 0})  # fmt: skip
            rows["prompts.embeddings"][owner] = await conn.fetchval(
                "INSERT INTO prompts.embeddings (source_type, source_id, user_id, embedding, model_version)"
                " VALUES ('saved_prompt', $1, $2, array_fill(0.1, ARRAY[768])::vector, 'm') RETURNING id",
                saved, owner,
            )  # fmt: skip
    finally:
        await conn.close()
    return Estate(alice, bob, rows, share_token)


async def as_owner(database: Database, query: str, *args: object) -> object:
    """One value read by the admin login, which row security does not bind."""
    conn = await asyncpg.connect(database.dsn)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def app_tables(database: Database) -> dict[str, str]:
    """Every table of the app schemas (partitioned parents, not their partitions), from the catalog,
    with its first column."""
    conn = await asyncpg.connect(database.dsn)
    try:
        rows = await conn.fetch(
            "SELECT format('%I.%I', n.nspname, c.relname), quote_ident(a.attname) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1"
            " WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
            list(APP_SCHEMAS),
        )  # fmt: skip
    finally:
        await conn.close()
    return {table: column for table, column in rows}


@pytest.mark.parametrize("table", OWNED)
async def test_each_user_really_deletes_their_own_row_and_no_one_elses(
    estate: Estate, login: Login, fresh_database: Database, table: str
) -> None:
    app = await login("bp_app", estate.alice)
    mine, bobs = estate.rows[table][estate.alice], estate.rows[table][estate.bob]
    await app.execute(f"DELETE FROM {table} WHERE id = ANY($1)", [mine, bobs])
    left = await as_owner(fresh_database, f"SELECT array_agg(id) FROM {table} WHERE id = ANY($1)", [mine, bobs])
    assert left == [bobs]


@pytest.mark.parametrize(("table", "change"), [(t, c[1:]) for t, c in OWNED.items()])
async def test_each_user_really_updates_their_own_row(
    estate: Estate, login: Login, fresh_database: Database, table: str, change: tuple[str, str]
) -> None:
    column, value = change
    app = await login("bp_app", estate.alice)
    await app.execute(f"UPDATE {table} SET {column} = {value} WHERE id = $1", estate.rows[table][estate.alice])
    written = f"SELECT {column} IS NOT DISTINCT FROM {value} FROM {table} WHERE id = $1"
    assert await as_owner(fresh_database, written, estate.rows[table][estate.alice]) is True
    assert await as_owner(fresh_database, written, estate.rows[table][estate.bob]) is False


@pytest.mark.parametrize("table", OWNED)
async def test_a_row_cannot_be_moved_to_another_user(estate: Estate, login: Login, table: str) -> None:
    owner_column = OWNED[table][0]
    app = await login("bp_app", estate.alice)
    await refused(
        app,
        f"UPDATE {table} SET {owner_column} = $1 WHERE id = $2",
        estate.owner_value(table, estate.bob),
        estate.rows[table][estate.alice],
    )


@pytest.mark.parametrize(("table", "change"), [(t, c[1:]) for t, c in OWNED.items()])
async def test_a_row_is_written_only_for_the_user_acting_when_it_is_written(
    estate: Estate, login: Login, fresh_database: Database, table: str, change: tuple[str, str]
) -> None:
    """The owner column is not bp_app's to update, so an UPDATE's WITH CHECK is what still binds the
    new row to the acting user: a statement that switches `app.user_id` to Bob after reading
    Alice's row may not write it. (No WHERE or RETURNING, so no SELECT policy checks it instead.)"""
    column, value = change
    app = await login("bp_app", estate.alice)
    switch = f"CASE WHEN set_config('app.user_id', $1, true) IS NOT NULL THEN {value} END"
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await app.execute(f"UPDATE {table} SET {column} = {switch}", str(estate.bob))
    unchanged = f"SELECT count(*) FROM {table} WHERE {column} = {value}"
    assert await as_owner(fresh_database, unchanged) == 0


async def test_the_readonly_login_writes_to_no_table(estate: Estate, login: Login, fresh_database: Database) -> None:
    """Refused by the grants, not by row security (which would let an UPDATE or DELETE pass on no
    row, and says "row-level security" when it refuses an INSERT); TRUNCATE ignores row security."""
    readonly = await login("bp_readonly")
    tables = await app_tables(fresh_database)
    assert len(tables) >= 15
    for table, column in tables.items():
        for statement in (f"INSERT INTO {table} DEFAULT VALUES", f"UPDATE {table} SET {column} = {column}",
                          f"DELETE FROM {table}", f"TRUNCATE {table}"):  # fmt: skip
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                await readonly.execute(statement)


async def test_the_readonly_login_reads_analytics(estate: Estate, login: Login, fresh_database: Database) -> None:
    readonly = await login("bp_readonly")
    analytics = [t for t in await app_tables(fresh_database) if t.startswith("analytics.")]
    assert len(analytics) == 4
    for table in analytics:
        assert await readonly.fetchval(f"SELECT count(*) FROM {table}") >= 0


@pytest.mark.parametrize("schema", APP_SCHEMAS)
@pytest.mark.parametrize("role", LOGINS)
async def test_no_login_creates_objects_in_an_app_schema(estate: Estate, login: Login, role: str, schema: str) -> None:
    conn = await login(role, estate.alice)
    await refused(conn, f"CREATE TABLE {schema}.intruder (id int)")
    await refused(conn, f"CREATE FUNCTION {schema}.intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    await refused(conn, f"CREATE VIEW {schema}.intruder AS SELECT 1 AS one")


@pytest.mark.parametrize("role", LOGINS)
async def test_no_login_reaches_a_history_partition_directly(
    estate: Estate, login: Login, fresh_database: Database, role: str
) -> None:
    partitions = await as_owner(
        fresh_database,
        "SELECT array_agg(inhrelid::regclass::text ORDER BY inhrelid) FROM pg_inherits"
        " WHERE inhparent = 'prompts.history'::regclass",
    )
    assert isinstance(partitions, list)
    assert "prompts.history_default" in partitions
    assert len(partitions) > 1
    conn = await login(role, estate.alice)
    for partition in partitions:
        await refused(conn, f"SELECT count(*) FROM {partition}")
        await refused(
            conn,
            f"INSERT INTO {partition} (user_id, request_id, original_input, enhanced_output)"
            " VALUES ($1, 'r-direct', 'i', 'o')",
            estate.bob,
        )


async def test_the_app_records_api_metrics_through_the_data_layer(
    estate: Estate, data: DataLayer, fresh_database: Database
) -> None:
    key = estate.rows["auth.api_keys"][estate.alice]
    async with data.db.transaction(user_id=estate.alice):
        metric = await data.analytics.record_api_metric(
            endpoint="/v1/enhance", method="POST", status_code=201, response_time_ms=3.0, api_key_id=key
        )
    assert await as_owner(fresh_database, "SELECT api_key_id FROM analytics.api_metrics WHERE id = $1", metric) == key


async def test_the_app_login_finds_a_shared_prompt_by_its_link(estate: Estate, login: Login) -> None:
    app = await login("bp_app")  # before any user is known: the link is all there is
    found = await app.fetchval("SELECT id FROM prompts.find_shared_prompt($1)", estate.share_token)
    assert found == estate.rows["prompts.saved_prompts"][estate.alice]
