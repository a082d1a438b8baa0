"""The columns the application's records assume are never NULL (annotations without `| None` in
betterprompts_db/data/postgres/records.py) refuse NULL when the owner writes it past the data layer, or are
filled again by their trigger. Rolled back per test; one savepoint per refused statement."""

from __future__ import annotations

import dataclasses
import types
from typing import get_args, get_type_hints

import asyncpg
import pytest

from betterprompts_db.data.postgres.records import RECORDS
from suites.betterprompts.schema.rows import history, minimal_rows, user

# Columns a BEFORE trigger fills whenever they are written, so a NULL written by UPDATE never lands.
FILLED_BY_TRIGGER: dict[tuple[str, str], str] = {
    **{(table, "updated_at"): "public.set_updated_at (<table>_set_updated_at, BEFORE UPDATE)" for table in RECORDS},
    ("prompts.templates", "slug"): "prompts.templates_fill_slug (BEFORE INSERT OR UPDATE OF name, slug)",
    ("prompts.intent_patterns", "normalized_pattern"): "prompts.intent_patterns_normalize (BEFORE INSERT OR UPDATE)",
}


def required_columns() -> list[tuple[str, str]]:
    """(table, column) for every record field whose annotation does not admit None."""
    required = []
    for table, record in RECORDS.items():
        hints = get_type_hints(record)
        for field in dataclasses.fields(record):
            hint = hints[field.name]
            optional = isinstance(hint, types.UnionType) and type(None) in get_args(hint)
            if not optional:
                required.append((table, field.name))
    return required


REQUIRED = required_columns()
REFUSED = [pair for pair in REQUIRED if pair not in FILLED_BY_TRIGGER]
# history_track_request_id (BEFORE UPDATE) copies a changed id into the request-id registry first, whose
# NOT NULL refuses it before the history's own primary key is checked.
REFUSED_AS: dict[tuple[str, str], str] = {("prompts.history", "id"): "history_id"}


@pytest.mark.parametrize(("table", "column"), REFUSED, ids=[f"{t}.{c}" for t, c in REFUSED])
async def test_null_in_a_required_column_is_refused(pg_conn: asyncpg.Connection, table: str, column: str) -> None:
    ids = await minimal_rows(pg_conn)
    with pytest.raises(asyncpg.NotNullViolationError) as refusal:
        async with pg_conn.transaction():
            await pg_conn.execute(f"UPDATE {table} SET {column} = NULL WHERE id = $1", ids[table])
    assert refusal.value.column_name == REFUSED_AS.get((table, column), column)


@pytest.mark.parametrize(("table", "column"), REFUSED, ids=[f"{t}.{c}" for t, c in REFUSED])
async def test_the_column_itself_refuses_null_when_no_trigger_runs(
    pg_conn: asyncpg.Connection, table: str, column: str
) -> None:
    """A restore with --disable-triggers or a logical replica (session_replication_role = replica)
    runs no trigger: a column whose NULL only a trigger's side effect refused would take it there."""
    ids = await minimal_rows(pg_conn)
    await pg_conn.execute("SET LOCAL session_replication_role = replica")  # until the test's rollback
    with pytest.raises(asyncpg.NotNullViolationError) as refusal:
        async with pg_conn.transaction():
            await pg_conn.execute(f"UPDATE {table} SET {column} = NULL WHERE id = $1", ids[table])
    assert refusal.value.column_name == column


@pytest.mark.parametrize(("table", "column"), list(FILLED_BY_TRIGGER), ids=[f"{t}.{c}" for t, c in FILLED_BY_TRIGGER])
async def test_null_in_a_trigger_filled_column_is_replaced(
    pg_conn: asyncpg.Connection, table: str, column: str
) -> None:
    """The trigger named in FILLED_BY_TRIGGER runs before the NOT NULL is checked and fills the column."""
    ids = await minimal_rows(pg_conn)
    await pg_conn.execute(f"UPDATE {table} SET {column} = NULL WHERE id = $1", ids[table])
    assert await pg_conn.fetchval(f"SELECT {column} FROM {table} WHERE id = $1", ids[table]) is not None


async def write_back_without_updated_at(conn: asyncpg.Connection, table: str, row_id: object) -> None:
    """Delete the row and insert it again, every column as it was but updated_at NULL (in a savepoint)."""
    async with conn.transaction():
        row = await conn.fetchval(f"DELETE FROM {table} t WHERE id = $1 RETURNING to_jsonb(t)", row_id)
        await conn.execute(
            f"INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, $1::jsonb"
            " || '{\"updated_at\": null}')).*",
            row,
        )


@pytest.mark.parametrize("table", sorted(RECORDS))
async def test_a_row_inserted_with_a_null_updated_at_is_refused(pg_conn: asyncpg.Connection, table: str) -> None:
    """set_updated_at fires on UPDATE only: on INSERT an explicit NULL (a copy passing every column, not
    the default) meets the NOT NULL alone. The row is taken out and written back whole with updated_at NULL."""
    ids = await minimal_rows(pg_conn)
    with pytest.raises(asyncpg.NotNullViolationError) as refusal:
        await write_back_without_updated_at(pg_conn, table, ids[table])
    assert refusal.value.column_name == "updated_at"


@pytest.mark.parametrize(
    ("table", "column"),
    [("prompts.templates", "slug"), ("prompts.intent_patterns", "normalized_pattern")],
    ids=["prompts.templates.slug", "prompts.intent_patterns.normalized_pattern"],
)
async def test_a_trigger_filled_column_refuses_null_when_triggers_do_not_fire(
    pg_conn: asyncpg.Connection, table: str, column: str
) -> None:
    """Under session_replication_role = replica (as a logical-replication apply worker runs) the filling
    trigger does not fire: the NOT NULL is then what keeps the column set."""
    ids = await minimal_rows(pg_conn)
    with pytest.raises(asyncpg.NotNullViolationError) as refusal:
        async with pg_conn.transaction():
            await pg_conn.execute(
                f"SET LOCAL session_replication_role = replica;"
                f" UPDATE {table} SET {column} = NULL WHERE id = '{ids[table]}'"
            )
    assert refusal.value.column_name == column


@pytest.mark.parametrize("column", ["history_id", "created_at"])
async def test_the_request_id_registry_refuses_null(pg_conn: asyncpg.Connection, column: str) -> None:
    """prompts.history_request_ids has no record class: the history trigger writes it, and a NULL there
    would leave a request id pointing at no entry."""
    entry = await history(pg_conn, await user(pg_conn), request_id="req-registry")
    assert entry is not None
    with pytest.raises(asyncpg.NotNullViolationError) as refusal:
        async with pg_conn.transaction():
            await pg_conn.execute(
                f"UPDATE prompts.history_request_ids SET {column} = NULL WHERE request_id = 'req-registry'"
            )
    assert refusal.value.column_name == column


def test_every_trigger_filled_column_is_a_required_field() -> None:
    """An entry naming a field the records allow to be NULL, or no field at all, would hide a column from the
    refusals."""
    assert set(FILLED_BY_TRIGGER) <= set(REQUIRED)
