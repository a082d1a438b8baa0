"""The Database: an asyncpg pool (its connections' codecs: codecs.py) and units of work.

`async with db.transaction(user_id=...) as uow:` spans repositories: every repository call in the
block (in this task) runs on the unit's connection; a nested `db.transaction()` is a savepoint.
The acting user is set for row-level security with `set_config('app.user_id', …, true)`, so it
ends with the transaction.

Read routing: given a replica DSN, the Database keeps a second pool there, and reads go to it:
`transaction(readonly=True)` and the `read*` statements outside a unit of work (the repositories'
`find`, `get`, `list`). Writes, and every statement inside a read-write unit of work, go to the
primary. A replica lags (asynchronous replication: by milliseconds, more under load), so a caller
that must see its own write (read-your-writes) reads inside the writing transaction or within
`db.on_primary()`; synchronous replication with `remote_apply` makes a committed write visible on
the replica before the commit returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args
from uuid import UUID

import asyncpg

from betterprompts_db.data.errors import InvalidInput, PoolExhausted, TransactionConflict, Unavailable
from betterprompts_db.data.health import Health
from betterprompts_db.data.postgres.checks import as_uuid, checked_choice, checked_int
from betterprompts_db.data.postgres.codecs import register_codecs
from betterprompts_db.data.postgres.translate import DROPPED, translate, translated

Isolation = Literal["read_committed", "repeatable_read", "serializable"]
T = TypeVar("T")


@dataclass(frozen=True)
class PoolSettings:
    """The summary's Python pool (min 5, max 20) with deadlines, so nothing waits forever."""

    min_size: int = 5
    max_size: int = 20
    acquire_timeout: float = 5.0
    statement_timeout_ms: int = 30_000
    command_timeout: float | None = 60.0
    max_inactive_connection_lifetime: float = 300.0


@dataclass(frozen=True)
class PoolStats:
    size: int
    idle: int
    in_use: int
    max_size: int


@dataclass
class UnitOfWork:
    """One connection in one transaction, with the acting user it was opened for."""

    connection: asyncpg.Connection
    user_id: UUID | None
    depth: int = 0


_current: ContextVar[UnitOfWork | None] = ContextVar("harness_unit_of_work", default=None)
_reads_on_primary: ContextVar[bool] = ContextVar("harness_reads_on_primary", default=False)


# Fixed statements: the caller's isolation only picks one, it never becomes SQL text.
BEGIN: dict[str, str] = {
    "read_committed": "BEGIN ISOLATION LEVEL READ COMMITTED",
    "repeatable_read": "BEGIN ISOLATION LEVEL REPEATABLE READ",
    "serializable": "BEGIN ISOLATION LEVEL SERIALIZABLE",
}
LEVELS = tuple(BEGIN)
assert set(LEVELS) == set(get_args(Isolation))


def _begin(isolation: Isolation, readonly: bool, user_id: UUID | str | None) -> str:
    """BEGIN and the acting user in one statement; InvalidInput, before any SQL, for an isolation
    level outside the three, a readonly that is not a bool or a user id that is not a UUID."""
    sql = BEGIN[checked_choice("isolation", isolation, LEVELS)]
    if not isinstance(readonly, bool):
        raise InvalidInput("readonly", f"must be True or False, got a {type(readonly).__name__}")
    if readonly:
        sql += " READ ONLY"
    if user_id is not None:
        # a UUID's text cannot break out of the literal, so it is inlined: one round trip, not two
        sql += f"; SELECT set_config('app.user_id', '{as_uuid('user_id', user_id)}', true)"
    return sql


async def _quietly(conn: asyncpg.Connection, statement: str) -> None:
    """Roll back on the way out of a failure; the caller's error is the one to report, so a
    connection that cannot even roll back (the server cut it) adds nothing. The pool's reset
    cleans up whatever is left."""
    if not conn.is_closed():
        with contextlib.suppress(Exception):
            await conn.execute(statement)


class Database:
    """Owns the pool. Use `Database.connect(dsn)`; close with `await db.close()`."""

    def __init__(self, pool: asyncpg.Pool, settings: PoolSettings, replica: asyncpg.Pool | None = None) -> None:
        self.pool = pool
        self.settings = settings
        self.replica = replica  # where reads go, when there is one (the module's docstring)

    @classmethod
    async def connect(cls, dsn: str, settings: PoolSettings | None = None, replica_dsn: str | None = None) -> Database:
        """A pool on `dsn` and, with `replica_dsn`, one of the same settings on the replica for reads."""
        settings = settings or PoolSettings()
        pool = await _create_pool(dsn, settings)
        try:
            replica = None if replica_dsn is None else await _create_pool(replica_dsn, settings)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, settings, replica)

    async def close(self) -> None:
        await self.pool.close()
        if self.replica is not None:
            await self.replica.close()

    @contextlib.contextmanager
    def on_primary(self) -> Iterator[None]:
        """Reads in the block (in this task) go to the primary: for a caller that must see its own
        write when the replica may not have replayed it yet."""
        token = _reads_on_primary.set(True)
        try:
            yield
        finally:
            _reads_on_primary.reset(token)

    def _reads(self) -> asyncpg.Pool:
        """The pool a read outside a read-write unit of work uses."""
        return self.pool if self.replica is None or _reads_on_primary.get() else self.replica

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """The current unit of work's connection, or one from the pool for a single statement."""
        uow = _current.get()
        if uow is not None:
            yield uow.connection
            return
        async with self._acquire(self.pool) as conn:
            yield conn

    async def _checkout(self, pool: asyncpg.Pool) -> asyncpg.Connection:
        if pool.get_idle_size():
            # a connected, idle connection is handed over at once: skip the deadline, whose
            # wait_for costs a task per call on the hot path
            return await pool.acquire()
        try:
            return await pool.acquire(timeout=self.settings.acquire_timeout)
        except TimeoutError:
            raise PoolExhausted(
                f"no connection became free within {self.settings.acquire_timeout:g}s "
                f"(all {self.settings.max_size} in use)"
            ) from None
        except asyncpg.TooManyConnectionsError as exc:
            raise Unavailable(
                f"the server refuses more connections ({exc}): raise max_connections or shrink pools"
            ) from exc
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError) as exc:
            raise Unavailable(f"cannot open a connection: {exc}") from exc

    async def _checkin(self, pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
        """Back to the pool. A connection that cannot be reset (its server paused or gone) is
        dropped by the pool itself; the caller keeps its own error rather than the reset's."""
        with contextlib.suppress(TimeoutError, *DROPPED, asyncpg.PostgresError):
            await pool.release(conn)

    @asynccontextmanager
    async def _acquire(self, pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
        conn = await self._checkout(pool)
        try:
            yield conn
        except Unavailable:
            # the server cut this connection, so it likely cut its idle siblings too: have the pool
            # replace them all on their next acquire instead of failing each caller once
            await pool.expire_connections()
            raise
        finally:
            await self._checkin(pool, conn)

    @asynccontextmanager
    async def transaction(
        self, user_id: UUID | str | None = None, isolation: Isolation = "read_committed", readonly: bool = False
    ) -> AsyncIterator[UnitOfWork]:
        """A transaction for `user_id`; nested, a savepoint that rolls back only its own part.
        `readonly` (outermost): on the replica when there is one, unless within `on_primary()`.

        Statements of its own rather than asyncpg's Transaction: BEGIN and the acting user travel
        in one round trip, which is a fifth of a short unit of work's (BEGIN, three statements,
        COMMIT)."""
        begin = _begin(isolation, readonly, user_id)  # every refusal before any SQL, nested or not
        acting = None if user_id is None else as_uuid("user_id", user_id)
        outer = _current.get()
        if outer is not None:
            if acting is not None and acting != outer.user_id:
                raise InvalidInput("user_id", "a nested transaction cannot act for another user")
            outer.depth += 1
            savepoint = f"harness_{outer.depth}"
            try:
                with translated("savepoint"):
                    await outer.connection.execute(f"SAVEPOINT {savepoint}")
                    try:
                        yield outer
                    except BaseException:
                        await _quietly(outer.connection, f"ROLLBACK TO SAVEPOINT {savepoint}")
                        raise
                    await outer.connection.execute(f"RELEASE SAVEPOINT {savepoint}")
            finally:
                outer.depth -= 1
            return
        async with self._acquire(self._reads() if readonly else self.pool) as conn:
            with translated("transaction"):
                await conn.execute(begin)
                uow = UnitOfWork(conn, acting)
                token = _current.set(uow)
                try:
                    yield uow
                except BaseException:
                    await _quietly(conn, "ROLLBACK")
                    raise
                finally:
                    _current.reset(token)
                await conn.execute("COMMIT")

    async def retrying(
        self, work: Callable[[], Awaitable[T]], *, attempts: int = 5, user_id: UUID | str | None = None,
        isolation: Isolation = "read_committed",
    ) -> T:  # fmt: skip
        """Run `work` in a transaction, again (after a short, growing, jittered pause) when it loses
        a serialization conflict or a deadlock; the last TransactionConflict is raised. Call it
        outside any unit of work: a conflict aborts the whole transaction, not just a savepoint."""
        if _current.get() is not None:
            raise ValueError("retrying() must start its own transaction, not run inside another")
        if not callable(work):
            raise InvalidInput("work", f"must be a callable returning an awaitable, got a {type(work).__name__}")
        attempts = checked_int("attempts", attempts, 1, 100)
        _begin(isolation, False, user_id)  # refuse a bad isolation or user before the first attempt
        for attempt in range(1, attempts + 1):
            try:
                async with self.transaction(user_id=user_id, isolation=isolation):
                    return await work()
            except TransactionConflict:
                if attempt == attempts:
                    raise
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))  # back off: let the winner commit
        raise AssertionError("unreachable")

    async def health_check(self, deadline: float = 1.0) -> Health:
        """`SELECT 1` through the pool within `deadline` seconds."""
        started = time.perf_counter()
        try:
            async with self._acquire(self.pool) as conn:
                await conn.fetchval("SELECT 1", timeout=deadline)
        except Exception as exc:  # health reports any failure instead of raising it
            return Health(False, (time.perf_counter() - started) * 1000, f"{type(exc).__name__}: {exc}")
        return Health(True, (time.perf_counter() - started) * 1000)

    def stats(self) -> PoolStats:
        size, idle = self.pool.get_size(), self.pool.get_idle_size()
        return PoolStats(size=size, idle=idle, in_use=size - idle, max_size=self.pool.get_max_size())

    async def embedding_dimension(self) -> int:
        """The dimension of prompts.embeddings.embedding, read from the catalog (set once, in 0005)."""
        typmod: int = await self.fetchval(
            "prompts.embeddings",
            "SELECT atttypmod FROM pg_attribute"
            " WHERE attrelid = 'prompts.embeddings'::regclass AND attname = 'embedding'",
        )
        return typmod

    # Single statements on the current unit of work (or a pooled connection); `what` names the
    # table or operation in any error. No context-manager layers here: this is every call's path.
    # `read*` are reads a replica may serve (outside a unit of work; inside one, its connection).
    async def _run(self, what: str, call: str, sql: str, args: tuple[Any, ...], read: bool = False) -> Any:
        uow = _current.get()
        pool = self._reads() if read else self.pool
        conn = uow.connection if uow is not None else await self._checkout(pool)
        try:
            return await getattr(conn, call)(sql, *args)
        except Exception as exc:
            mapped = translate(exc, what)
            if mapped is None:
                raise
            if uow is None and isinstance(mapped, Unavailable):
                await pool.expire_connections()  # its idle siblings were likely cut too
            raise mapped from exc
        finally:
            if uow is None:
                await self._checkin(pool, conn)

    async def execute(self, what: str, sql: str, *args: Any) -> str:
        result: str = await self._run(what, "execute", sql, args)
        return result

    async def fetch(self, what: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._run(what, "fetch", sql, args)
        return rows

    async def fetchrow(self, what: str, sql: str, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._run(what, "fetchrow", sql, args)
        return row

    async def fetchval(self, what: str, sql: str, *args: Any) -> Any:
        return await self._run(what, "fetchval", sql, args)

    async def read(self, what: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._run(what, "fetch", sql, args, read=True)
        return rows

    async def read_row(self, what: str, sql: str, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._run(what, "fetchrow", sql, args, read=True)
        return row


async def _create_pool(dsn: str, settings: PoolSettings) -> asyncpg.Pool:
    with translated("connecting"):
        return await asyncpg.create_pool(
            dsn,
            min_size=settings.min_size,
            max_size=settings.max_size,
            command_timeout=settings.command_timeout,
            max_inactive_connection_lifetime=settings.max_inactive_connection_lifetime,
            server_settings={"statement_timeout": str(settings.statement_timeout_ms),
                             "application_name": "betterprompts_db.data"},
            init=register_codecs,
        )  # fmt: skip
