"""The query budget counts what the server saw: statements by asyncpg's query logger, rows read by
the transaction's own pg_stat_xact_user_tables; a block over budget fails naming each statement and
the tables it read, one within budget passes."""

from __future__ import annotations

import asyncpg
import pytest

from harness.errors import QueryBudgetError
from harness.pytest_plugin import PoolFactory
from harness.query_budget import QueryBudget, QueryBudgetExceeded, QueryBudgets, TableReads

ROWS = 1000


async def make_table(conn: asyncpg.Connection) -> None:
    """A real table of ROWS rows with a primary key, in pg_conn's transaction (rolled back after)."""
    await conn.execute("CREATE TABLE budget_items (id int PRIMARY KEY, owner int NOT NULL)")
    await conn.execute(f"INSERT INTO budget_items SELECT i, i % 10 FROM generate_series(1, {ROWS}) i")


async def test_rows_read_are_the_servers_count_of_a_sequential_scan(pg_conn: asyncpg.Connection) -> None:
    await make_table(pg_conn)
    async with QueryBudget(pg_conn, rows_read=ROWS) as budget:
        assert await pg_conn.fetchval("SELECT count(*) FROM budget_items WHERE owner = 3") == ROWS // 10
    assert budget.spent.tables == [TableReads("public.budget_items", seq_scans=1, seq_rows=ROWS)]
    assert budget.spent.statements == ["SELECT count(*) FROM budget_items WHERE owner = 3"]


async def test_an_index_lookup_reads_only_its_rows(pg_conn: asyncpg.Connection) -> None:
    await make_table(pg_conn)
    await pg_conn.execute("SET LOCAL enable_seqscan = off")  # the table has no statistics yet
    async with QueryBudget(pg_conn, statements=2, rows_read=2) as budget:
        for key in (5, 6):
            await pg_conn.fetchrow("SELECT * FROM budget_items WHERE id = $1", key)
    assert budget.spent.tables == [TableReads("public.budget_items", index_scans=2, index_rows=2)]


async def test_a_scan_over_budget_fails_naming_the_table_and_statement(pg_conn: asyncpg.Connection) -> None:
    await make_table(pg_conn)
    with pytest.raises(QueryBudgetExceeded) as failure:
        async with QueryBudget(pg_conn, statements=3, rows_read=500):
            await pg_conn.fetch("SELECT * FROM budget_items WHERE owner = 1")
    assert str(failure.value) == (
        "query budget exceeded: rows read 1,000 > 500 (public.budget_items: 1,000 seq in 1 scan)\n"
        "statements: 1x SELECT * FROM budget_items WHERE owner = 1"
    )


async def test_an_n_plus_one_loop_fails_showing_the_repeated_statement(pg_conn: asyncpg.Connection) -> None:
    await make_table(pg_conn)
    await pg_conn.execute("SET LOCAL enable_seqscan = off")

    async def owners_one_by_one() -> None:
        async with QueryBudget(pg_conn, statements=2):
            ids = await pg_conn.fetch("SELECT id FROM budget_items WHERE id <= 20")
            for row in ids:
                await pg_conn.fetchrow("SELECT owner FROM budget_items WHERE id = $1", row["id"])

    with pytest.raises(QueryBudgetExceeded) as failure:
        await owners_one_by_one()
    assert str(failure.value) == (
        "query budget exceeded: 21 statements > budget 2\n"
        "statements: 1x SELECT id FROM budget_items WHERE id <= 20; 20x SELECT owner FROM budget_items WHERE id = $1"
    )


async def test_a_block_within_budget_passes_and_counts_each_round_trip(pg_conn: asyncpg.Connection) -> None:
    await make_table(pg_conn)
    await pg_conn.execute("SET LOCAL enable_seqscan = off")
    async with QueryBudget(pg_conn, statements=3, rows_read=20) as budget:
        await pg_conn.execute("SELECT 1; SELECT 2")  # one round trip, one statement sent
        await pg_conn.fetch("SELECT * FROM budget_items WHERE id BETWEEN 1 AND 20")
    assert (len(budget.spent.statements), budget.spent.rows_read) == (2, 20)


async def test_asyncpgs_type_introspection_is_not_the_codes_statement(pg_conn: asyncpg.Connection) -> None:
    await pg_conn.execute("CREATE TYPE budget_mood AS ENUM ('calm', 'busy')")
    sent: list[str] = []
    pg_conn.add_query_logger(lambda record: sent.append(record.query))
    async with QueryBudget(pg_conn, statements=1) as budget:
        assert await pg_conn.fetchval("SELECT 'busy'::budget_mood") == "busy"
    assert len(sent) > 1  # asyncpg looked the new type up
    assert budget.spent.statements == ["SELECT 'busy'::budget_mood"]


async def test_statements_of_every_watched_connection_count(
    pg_conn: asyncpg.Connection, pg_pool_factory: PoolFactory
) -> None:
    pool = await pg_pool_factory(min_size=1, max_size=1)
    async with pool.acquire() as other, other.transaction(), QueryBudget([pg_conn, other], statements=2) as budget:
        await pg_conn.fetchval("SELECT 1")
        await other.fetchval("SELECT 2")
    assert sorted(budget.spent.statements) == ["SELECT 1", "SELECT 2"]


async def test_a_connection_outside_a_transaction_is_refused(pg_pool_factory: PoolFactory) -> None:
    pool = await pg_pool_factory(min_size=1, max_size=1)
    async with pool.acquire() as conn:
        with pytest.raises(QueryBudgetError, match="in none: open one around the block"):
            await QueryBudget(conn, statements=1).__aenter__()


def test_the_fixture_without_pg_conn_asks_for_a_connection(query_budget: QueryBudgets) -> None:
    with pytest.raises(QueryBudgetError, match="pass on= the connection"):
        query_budget(statements=1)
