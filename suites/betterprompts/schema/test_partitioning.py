"""prompts.history partitioned by month: routing, request-id uniqueness across partitions, and
the migration that partitions it keeps every row (and its down merges them back)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from harness import migrate
from harness.config import Settings
from harness.pytest_plugin import Database
from suites.betterprompts.schema.rows import history, insert, user

LONG_AGO = datetime(2001, 1, 15, tzinfo=UTC)


async def partition_of(conn: asyncpg.Connection, history_id: object) -> str:
    name: str = await conn.fetchval("SELECT tableoid::regclass::text FROM prompts.history WHERE id = $1", history_id)
    return name


async def test_rows_land_in_their_months_partition_or_the_default(pg_conn: asyncpg.Connection) -> None:
    owner = await user(pg_conn)
    now = await pg_conn.fetchval("SELECT now()")
    assert await partition_of(pg_conn, await history(pg_conn, owner)) == f"prompts.history_{now:%Y_%m}"
    assert await partition_of(pg_conn, await history(pg_conn, owner, created_at=LONG_AGO)) == "prompts.history_default"


async def test_request_ids_are_unique_across_partitions(pg_conn: asyncpg.Connection) -> None:
    owner = await user(pg_conn)
    await history(pg_conn, owner, request_id="req-shared")
    with pytest.raises(asyncpg.UniqueViolationError, match="history_request_id_key"):
        async with pg_conn.transaction():
            await history(pg_conn, owner, request_id="req-shared", created_at=LONG_AGO)
    await pg_conn.execute("DELETE FROM prompts.history WHERE request_id = 'req-shared'")
    await history(pg_conn, owner, request_id="req-shared", created_at=LONG_AGO)  # freed by the delete
    await pg_conn.execute("UPDATE prompts.history SET request_id = 'req-renamed' WHERE request_id = 'req-shared'")
    assert (
        await pg_conn.fetchval("SELECT count(*) FROM prompts.history_request_ids WHERE request_id = 'req-shared'") == 0
    )
    await history(pg_conn, owner, request_id="req-shared")


async def test_future_partitions_are_created_once(pg_conn: asyncpg.Connection) -> None:
    # the migration made its month and the next three; the months from now on it has no partition
    # for are what is missing (3 when the template was built this month, 4 a month boundary later)
    missing = await pg_conn.fetchval(
        """SELECT count(*) FROM generate_series(date_trunc('month', now()),
                                                date_trunc('month', now()) + interval '6 months', interval '1 month') m
           WHERE to_regclass(format('prompts.history_%s', to_char(m, 'YYYY_MM'))) IS NULL"""
    )
    assert missing >= 3
    assert await pg_conn.fetchval("SELECT prompts.ensure_history_partitions(6)") == missing
    assert await pg_conn.fetchval("SELECT prompts.ensure_history_partitions(6)") == 0


async def test_partitioning_keeps_every_row_and_its_down_merges_them_back(
    blank_database: Database, harness_settings: Settings
) -> None:
    directory = harness_settings.migrations_dir
    dsn = blank_database.dsn
    await migrate.apply_migrations(dsn, directory, to=6)
    conn = await asyncpg.connect(dsn)
    try:
        owner = await user(conn)
        months = [datetime(2026, m, 10, tzinfo=UTC) for m in (1, 2, 3)] + [LONG_AGO]
        ids = [await history(conn, owner, created_at=at) for at in months for _ in range(5)]
        saved = await insert(conn, "prompts.saved_prompts",
                             {"user_id": owner, "history_id": ids[0], "title": "t", "prompt_text": "p"})  # fmt: skip
        before = await conn.fetch("SELECT * FROM prompts.history ORDER BY id")

        await migrate.apply_migrations(dsn, directory, to=7)
        assert await conn.fetch("SELECT * FROM prompts.history ORDER BY id") == before
        partitions = {r[0] for r in await conn.fetch("SELECT DISTINCT tableoid::regclass::text FROM prompts.history")}
        assert {"prompts.history_2026_01", "prompts.history_2026_02", "prompts.history_2026_03"} <= partitions
        assert await conn.fetchval("SELECT history_id FROM prompts.saved_prompts WHERE id = $1", saved) == ids[0]
        assert await conn.fetchval("SELECT count(*) FROM prompts.history_request_ids") == len(ids)

        await migrate.rollback_migrations(dsn, directory, steps=1)
        assert await conn.fetchval("SELECT relkind::text FROM pg_class WHERE oid = 'prompts.history'::regclass") == "r"
        assert await conn.fetch("SELECT * FROM prompts.history ORDER BY id") == before
        assert await conn.fetchval("SELECT history_id FROM prompts.saved_prompts WHERE id = $1", saved) == ids[0]
    finally:
        await conn.close()
