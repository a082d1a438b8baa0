"""pg_conn's connection (WorkerConnection): one per worker on its home loop, each test inside a
transaction rolled back afterwards, nothing of one test left for the next, a test that commits or
breaks the connection found out, and a connection per test on any other loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from harness.isolation.worker_connection import WorkerConnection
from harness.pytest_plugin import Database

PID = "SELECT pg_backend_pid()"


@pytest_asyncio.fixture
async def worker(fresh_database: Database) -> AsyncIterator[WorkerConnection]:
    holder = WorkerConnection(fresh_database.dsn, asyncio.get_running_loop())
    yield holder
    await holder.close()


@pytest_asyncio.fixture
async def admin(fresh_database: Database) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(fresh_database.dsn)
    yield conn
    await conn.close()


async def test_loans_on_the_home_loop_share_one_connection_and_see_nothing_of_the_last(
    worker: WorkerConnection,
) -> None:
    async with worker.lend() as loan:
        first = await loan.connection.fetchval(PID)
        await loan.connection.execute("CREATE TABLE left_behind (id int); INSERT INTO left_behind VALUES (1)")
    async with worker.lend() as loan:
        assert await loan.connection.fetchval(PID) == first
        assert await loan.connection.fetchval("SELECT to_regclass('left_behind')") is None
        assert not loan.ended_by_test


async def test_what_outlives_a_rollback_is_reset_before_the_next_loan(worker: WorkerConnection) -> None:
    async with worker.lend() as loan:
        conn = loan.connection
        await conn.execute("SELECT pg_advisory_lock(4242)")  # a session lock: a rollback keeps it
        await conn.execute("PREPARE mine AS SELECT 1")  # not transactional
        await conn.execute("CREATE TEMP SEQUENCE counter; SELECT nextval('counter')")  # lastval outlives it
        await conn.execute("SET statement_timeout = '1234ms'")
    async with worker.lend() as loan:
        conn = loan.connection
        locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        assert await conn.fetchval(locks) == 0
        await conn.execute("PREPARE mine AS SELECT 2")  # the name is free again
        assert await conn.fetchval("SHOW statement_timeout") != "1234ms"
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
            await conn.fetchval("SELECT lastval()")


async def test_a_table_rebuilt_with_another_shape_is_read_afresh_not_from_a_cached_statement(
    worker: WorkerConnection,
) -> None:
    async with worker.lend() as loan:
        await loan.connection.execute("CREATE TABLE shaped (a int)")
        assert await loan.connection.fetch("SELECT * FROM shaped") == []
    async with worker.lend() as loan:
        await loan.connection.execute("CREATE TABLE shaped (a int, b text); INSERT INTO shaped VALUES (1, 'x')")
        assert [tuple(row) for row in await loan.connection.fetch("SELECT * FROM shaped")] == [(1, "x")]


async def test_a_failed_transaction_and_the_tests_own_savepoints_are_rolled_back_with_the_loan(
    worker: WorkerConnection,
) -> None:
    async with worker.lend() as loan:
        first = await loan.connection.fetchval(PID)
        async with loan.connection.transaction():  # a savepoint inside the loan's transaction
            await loan.connection.execute("CREATE TABLE inner_one (id int)")
        with pytest.raises(asyncpg.DivisionByZeroError):
            await loan.connection.fetchval("SELECT 1 / 0")  # the transaction is failed now
    async with worker.lend() as loan:
        assert await loan.connection.fetchval(PID) == first
        assert await loan.connection.fetchval("SELECT to_regclass('inner_one')") is None


@pytest.mark.parametrize("ending", ["COMMIT", "COMMIT; BEGIN", "ROLLBACK AND CHAIN"])
async def test_a_test_that_ends_the_transaction_itself_is_found_out_and_its_connection_not_kept(
    worker: WorkerConnection, ending: str
) -> None:
    async with worker.lend() as loan:
        first = await loan.connection.fetchval(PID)
        await loan.connection.execute(ending)
    assert loan.ended_by_test
    async with worker.lend() as loan:
        assert await loan.connection.fetchval(PID) != first
        assert not loan.ended_by_test


async def test_a_connection_configured_by_a_test_is_not_kept(worker: WorkerConnection) -> None:
    async with worker.lend() as loan:
        first = await loan.connection.fetchval(PID)
        await loan.connection.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    async with worker.lend() as loan:
        assert await loan.connection.fetchval(PID) != first
        assert await loan.connection.fetchval("SELECT '{\"a\": 1}'::json") == '{"a": 1}'


async def test_a_query_logger_the_test_removed_leaves_the_connection_kept_one_left_does_not(
    worker: WorkerConnection,
) -> None:
    def logger(record: object) -> None:
        pass

    async with worker.lend() as loan:
        first = await loan.connection.fetchval(PID)
        loan.connection.add_query_logger(logger)  # as a query budget does around its block
        loan.connection.remove_query_logger(logger)
    async with worker.lend() as loan:
        assert await loan.connection.fetchval(PID) == first
        loan.connection.add_query_logger(logger)  # left behind: it would see the next test's statements
    async with worker.lend() as loan:
        assert await loan.connection.fetchval(PID) != first


async def test_a_connection_terminated_between_loans_is_replaced_on_the_next(
    worker: WorkerConnection, admin: asyncpg.Connection
) -> None:
    async with worker.lend() as loan:
        first = await loan.connection.fetchval(PID)
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
    async with worker.lend() as loan:
        assert await loan.connection.fetchval(PID) != first
    assert not loan.broke


async def test_a_connection_terminated_during_a_loan_is_reported_broken_and_replaced(
    worker: WorkerConnection, admin: asyncpg.Connection
) -> None:
    async with worker.lend() as loan:
        first = await loan.connection.fetchval(PID)
        await admin.fetchval("SELECT pg_terminate_backend($1)", first)
    assert loan.broke
    async with worker.lend() as loan:
        assert await loan.connection.fetchval(PID) != first


async def test_away_from_its_home_loop_each_loan_has_a_connection_of_its_own(fresh_database: Database) -> None:
    elsewhere = asyncio.new_event_loop()  # the home of a worker connection: not the loop this test runs on
    try:
        worker = WorkerConnection(fresh_database.dsn, elsewhere)
        pids = []
        for _ in range(2):
            async with worker.lend() as loan:
                pids.append(await loan.connection.fetchval(PID))
            assert loan.connection.is_closed()
        assert pids[0] != pids[1]
    finally:
        elsewhere.close()


async def test_a_loan_that_wrote_nothing_holds_no_xid_or_snapshot_after_it_and_the_next_has_its_own_transaction(
    worker: WorkerConnection, admin: asyncpg.Connection
) -> None:
    held = "SELECT state, backend_xid, backend_xmin FROM pg_stat_activity WHERE pid = $1"
    async with worker.lend() as loan:
        pid = await loan.connection.fetchval(PID)
        started = await loan.connection.fetchval("SELECT now()")
    assert tuple(await admin.fetchrow(held, pid)) == (
        "idle in transaction",
        None,
        None,
    )  # rolled back by the next BEGIN
    async with worker.lend() as loan:
        assert await loan.connection.fetchval("SELECT now()") > started
        await loan.connection.execute("CREATE TABLE written (id int)")
    assert tuple(await admin.fetchrow(held, pid)) == ("idle", None, None)  # a loan that wrote is rolled back at once
