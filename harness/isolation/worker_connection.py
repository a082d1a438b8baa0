"""pg_conn's connection: one per worker, lent to one test at a time inside a transaction that is
rolled back after it.

A connection per test costs a SCRAM login and asyncpg's set-up (16 ms here); BEGIN and ROLLBACK on
an open one cost a fraction of a millisecond. An asyncpg connection belongs to the event loop it was
made on, so the worker's connection serves only tests that run on the loop it was made on (the
session's); a test on a loop of its own gets a connection of its own, as before.

A loan costs two round trips: BEGIN with a savepoint, and at its end back to the savepoint. The
ROLLBACK itself waits for the next loan's BEGIN when the test left the transaction holding nothing
(no xid, no snapshot under READ COMMITTED, no lock of the test's): no horizon is held back, and the
next test starts a transaction of its own (its own now()). A test that wrote is rolled back at once.

What outlives a rollback is reset before the next test, in the round trip that rolls back: session
advisory locks, the sequences' currval/lastval, the statements the test PREPAREd in SQL, and
asyncpg's statement cache when the test wrote (its DDL may have changed what a cached statement
returns). Settings, LISTEN, cursors and temporary tables made inside the transaction go with it;
made outside it, the test had ended the transaction. A test that did (COMMIT) wrote to the worker's
database: the loan says so, the connection is not kept, and the caller replaces the database. A
connection the test configured (codecs, listeners, loggers) is not kept either; one that broke is
replaced on the next loan.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

SAVEPOINT = "harness_pg_conn_loan"  # set after BEGIN: rolling back to it fails once the test ended the transaction
BEGIN = f"BEGIN; SAVEPOINT {SAVEPOINT}"  # one round trip
# One round trip at the end of a loan, inside its transaction: back to the savepoint (out of a failed
# state too), then reset what the rollback will not (neither is transactional). Its last SELECT
# reports in its command tag ("SELECT <n>") whether the test wrote (bit 1: an xid was assigned),
# whether it PREPAREd statements in SQL (bit 2) and whether the transaction keeps its snapshot (bit 3:
# an isolation level above READ COMMITTED), so the common test costs no second round trip.
END = f"""
ROLLBACK TO SAVEPOINT {SAVEPOINT};
SELECT pg_advisory_unlock_all();
DISCARD SEQUENCES;
SELECT FROM generate_series(1, (pg_current_xact_id_if_assigned() IS NOT NULL)::int
                               + 2 * (SELECT count(*) > 0 FROM pg_prepared_statements WHERE from_sql)::int
                               + 4 * (current_setting('transaction_isolation') <> 'read committed')::int)
"""
WROTE, PREPARED, KEEPS_SNAPSHOT = 1, 2, 4
DEALLOCATE_SQL_PREPARED = """
DO $$ DECLARE name text; BEGIN
  FOR name IN SELECT p.name FROM pg_prepared_statements p WHERE p.from_sql LOOP
    EXECUTE format('DEALLOCATE %I', name);
  END LOOP;
END $$
"""
# Errors that say the connection itself is gone (terminated, server restarted), not the statement;
# asyncpg's protocol can also be caught mid-operation by the server's goodbye (InternalClientError).
BROKEN = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.AdminShutdownError,
    OSError,
)


class LentConnection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg ships no types
    """An asyncpg connection that remembers whether a test configured it (type codecs, loggers,
    listeners): nothing resets those, so such a connection is not kept for the next test."""

    configured = False
    query_loggers: frozenset[Any] = frozenset()  # the test's, still added: a query budget removes its own

    @property
    def left_configured(self) -> bool:
        """Whether the test left something on the connection that would reach the next test."""
        return self.configured or bool(self.query_loggers)

    rollback_pending = False  # a clean loan's transaction, back at its savepoint: the next BEGIN rolls it back

    async def set_type_codec(self, *args: Any, **kwargs: Any) -> None:
        self.configured = True
        await super().set_type_codec(*args, **kwargs)

    async def set_builtin_type_codec(self, *args: Any, **kwargs: Any) -> None:
        self.configured = True
        await super().set_builtin_type_codec(*args, **kwargs)

    def add_query_logger(self, callback: Any) -> None:
        self.query_loggers |= {callback}
        super().add_query_logger(callback)

    def remove_query_logger(self, callback: Any) -> None:
        self.query_loggers -= {callback}
        super().remove_query_logger(callback)

    def add_termination_listener(self, *args: Any, **kwargs: Any) -> None:
        self.configured = True
        super().add_termination_listener(*args, **kwargs)

    def add_log_listener(self, *args: Any, **kwargs: Any) -> None:
        self.configured = True
        super().add_log_listener(*args, **kwargs)

    async def add_listener(self, *args: Any, **kwargs: Any) -> None:
        self.configured = True
        await super().add_listener(*args, **kwargs)

    async def begin_loan(self) -> None:
        """BEGIN and the loan's savepoint in one round trip (asyncpg's own BEGIN would cost one more).
        The test's `transaction()` blocks nest as savepoints only inside a transaction asyncpg calls
        its own (its `_top_xact`), so one is recorded there, never started."""
        await self.execute(f"ROLLBACK; {BEGIN}" if self.rollback_pending else BEGIN)
        self.rollback_pending = False
        self._top_xact = self.transaction()

    async def end_loan(self, *, now: bool) -> None:
        """ROLLBACK, `now` or with the next loan's BEGIN; asyncpg forgets the transaction begin_loan recorded."""
        self._top_xact = None
        if now:
            await self.execute("ROLLBACK")
        else:
            self.rollback_pending = True


class TransactionEndedByTest(UserWarning):
    """The test ended pg_conn's transaction itself: what it committed reached the worker's database."""


@dataclass
class Loan:
    """A test's use of a connection inside a transaction: whose connection (the worker's, kept), and
    what its end found."""

    connection: LentConnection
    kept: bool
    ended_by_test: bool = False  # committed or ended by the test: the database may hold its writes
    broke: bool = False  # the connection broke during the test: whether it committed cannot be told


class WorkerConnection:
    """The worker's connection to `dsn`, made on `home` (the session's loop) when a test there first
    asks, and kept for the next one."""

    def __init__(self, dsn: str, home: asyncio.AbstractEventLoop) -> None:
        self.dsn = dsn
        self.home = home
        self._conn: LentConnection | None = None

    @asynccontextmanager
    async def lend(self) -> AsyncIterator[Loan]:
        """A connection inside a transaction, rolled back (and the kept connection reset) afterwards;
        the worker's own on its home loop, else a new one closed afterwards."""
        loan = await self.borrow()
        try:
            yield loan
        finally:
            await self.give_back(loan)

    async def borrow(self) -> Loan:
        """lend's first half, for callers that cannot hold an async context open (a sync fixture)."""
        if asyncio.get_running_loop() is not self.home:
            conn = await connect(self.dsn)
            await conn.begin_loan()
            return Loan(conn, kept=False)
        if self._conn is not None:
            try:
                await self._conn.begin_loan()
                return Loan(self._conn, kept=True)
            except BROKEN:  # since the last test: terminated, or the server restarted
                await discard(self._conn)
        self._conn = await connect(self.dsn)
        await self._conn.begin_loan()
        return Loan(self._conn, kept=True)

    async def give_back(self, loan: Loan) -> None:
        """lend's second half: roll back and reset, or discard a connection not fit to keep."""
        await finish(loan)
        if not loan.kept or loan.broke or loan.ended_by_test or loan.connection.left_configured:
            await discard(loan.connection)  # the next test connects anew (to a replaced database)
            if loan.kept:
                self._conn = None

    async def close(self) -> None:
        if self._conn is not None:
            await discard(self._conn)
            self._conn = None


async def connect(dsn: str) -> LentConnection:
    conn: LentConnection = await asyncpg.connect(dsn, connection_class=LentConnection)
    return conn


async def finish(loan: Loan) -> None:
    """Roll the test's transaction back and reset what a rollback leaves (see END); the connection
    forgets its cached statements when the test wrote."""
    conn = loan.connection
    try:
        found = WROTE
        try:
            found = int((await conn.execute(END)).split()[-1])
        except (asyncpg.NoActiveSQLTransactionError, asyncpg.InvalidSavepointSpecificationError):
            loan.ended_by_test = True
        await conn.end_loan(now=found != 0)  # a transaction that holds nothing can wait for the next BEGIN
        if found & PREPARED:
            await conn.execute(DEALLOCATE_SQL_PREPARED)
        if found & WROTE:
            await conn.reload_schema_state()
    except BROKEN:
        loan.broke = True


async def discard(conn: asyncpg.Connection) -> None:
    try:
        await conn.close()
    except BROKEN:
        conn.terminate()
