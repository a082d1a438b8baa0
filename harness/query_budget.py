"""Query budgets: `async with QueryBudget(conn, statements=3, rows_read=500):` fails the test when
the block sends more statements or reads more rows than that, so an N+1 loop or an index that
stopped being used fails a test, not a dashboard.

How it counts, and why:
- Statements: asyncpg's query logger (`Connection.add_query_logger`) on the connections the code
  under test uses, the one place that sees each statement with its text. pg_stat_statements would
  fold them into normalised entries shared by every backend of the server, so it cannot tell which
  statements were this block's nor show an N+1 as repeated text. asyncpg's own type introspection
  (on a connection's first use of a type) is not counted: it depends on what ran earlier on the
  connection, not on the code under test. A multi-statement string is one round trip, one count.
- Rows read: the server's own counters for the connection's transaction, `pg_stat_xact_user_tables`
  (seq_tup_read + idx_tup_fetch per table), read on that connection before and after the block.
  A backend holds these counts until it flushes them to the shared statistics, which it never does
  inside a transaction, so the difference is exactly what the block read; outside a transaction a
  flush could happen mid-block, so a connection must be inside one (pg_conn is; a data layer's unit
  of work is). The test never reports its own rows: the server counts them.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import asyncpg
from asyncpg import introspection

from harness.errors import QueryBudgetError

SQL_SHOWN = 120  # characters of each statement a failure quotes
# Introspection around a type the connection has not met: its lookup and the JIT switch around it.
HOUSEKEEPING = (
    re.compile(r"\s*SELECT\s+current_setting\('jit'\) AS cur,\s+set_config\('jit', 'off', false\) AS new\s*"),
    re.compile(r"\s*SELECT\s+set_config\('jit', \$1, false\)\s*"),
)
INTROSPECTION = frozenset({introspection.INTRO_LOOKUP_TYPES, introspection.INTRO_LOOKUP_TYPES_13})

READS = """
SELECT schemaname || '.' || relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0), coalesce(idx_tup_fetch, 0)
FROM pg_stat_xact_user_tables
WHERE seq_scan > 0 OR idx_scan > 0
"""


class QueryBudgetExceeded(AssertionError):
    """The block sent more statements or read more rows than its budget: a test failure."""


@dataclass(frozen=True)
class TableReads:
    """What the server counted for one table: sequential scans and the rows they read, index
    scans and the rows they fetched."""

    table: str
    seq_scans: int = 0
    seq_rows: int = 0
    index_scans: int = 0
    index_rows: int = 0

    @property
    def rows(self) -> int:
        return self.seq_rows + self.index_rows

    def plus(self, other: TableReads, sign: int = 1) -> TableReads:
        return TableReads(
            self.table, self.seq_scans + sign * other.seq_scans, self.seq_rows + sign * other.seq_rows,
            self.index_scans + sign * other.index_scans, self.index_rows + sign * other.index_rows,
        )  # fmt: skip

    def minus(self, other: TableReads) -> TableReads:
        return self.plus(other, -1)

    def describe(self) -> str:
        parts = []
        if self.seq_rows or self.seq_scans:
            parts.append(f"{self.seq_rows:,} seq in {_times(self.seq_scans, 'scan')}")
        if self.index_rows or self.index_scans:
            parts.append(f"{self.index_rows:,} by index in {_times(self.index_scans, 'scan')}")
        return f"{self.table}: {', '.join(parts)}"


@dataclass
class Spending:
    """What a block spent: each statement's text in the order sent, and each table's reads."""

    statements: list[str] = field(default_factory=list)
    tables: list[TableReads] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(t.rows for t in self.tables)


class QueryBudget:
    """At most `statements` statements and `rows_read` rows read (None: not limited) by the block,
    on `connections`, each inside a transaction. `spent` holds the figures after the block."""

    def __init__(
        self, connections: asyncpg.Connection | Sequence[asyncpg.Connection], *,
        statements: int | None = None, rows_read: int | None = None,
    ) -> None:  # fmt: skip
        self.connections = list(connections) if isinstance(connections, Sequence) else [connections]
        if not self.connections:
            raise QueryBudgetError("a query budget needs a connection to watch")
        if statements is None and rows_read is None:
            raise QueryBudgetError("a query budget needs a limit: statements=, rows_read= or both")
        self.statements = statements
        self.rows_read = rows_read
        self.spent = Spending()
        self._loggers: list[tuple[asyncpg.Connection, Callable[[Any], None]]] = []
        self._before: list[dict[str, TableReads]] = []

    async def __aenter__(self) -> QueryBudget:
        for conn in self.connections:
            if not conn.is_in_transaction():
                raise QueryBudgetError(
                    "a query budget counts rows read in the connection's transaction (pg_stat_xact_user_tables), "
                    "and this connection is in none: open one around the block (pg_conn is in one)"
                )
        self._before = [await _reads(conn) for conn in self.connections]
        for conn in self.connections:
            logger = _logger_for(self.spent.statements)
            conn.add_query_logger(logger)
            self._loggers.append((conn, logger))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        __tracebackhide__ = True  # pytest shows the test's `async with`, not this method
        await asyncio.sleep(0)  # asyncpg calls loggers soon after each statement, not during it
        for conn, logger in self._loggers:
            conn.remove_query_logger(logger)
        self._loggers.clear()
        if error is not None:
            return
        totals: dict[str, TableReads] = {}
        for conn, before in zip(self.connections, self._before, strict=True):
            for table, after in (await _reads(conn)).items():
                read = after.minus(before.get(table, TableReads(table)))
                totals[table] = totals.get(table, TableReads(table)).plus(read)
        self.spent.tables = sorted((t for t in totals.values() if t.seq_scans or t.index_scans),
                                   key=lambda t: (-t.rows, t.table))  # fmt: skip
        overspent = self.overspent()
        if overspent:
            raise QueryBudgetExceeded(overspent)

    def overspent(self) -> str | None:
        """The failure's message, or None within budget."""
        over = []
        count = len(self.spent.statements)
        if self.statements is not None and count > self.statements:
            over.append(f"{_times(count, 'statement')} > budget {self.statements}")
        rows = self.spent.rows_read
        if self.rows_read is not None and rows > self.rows_read:
            tables = "; ".join(t.describe() for t in self.spent.tables if t.rows or t.seq_scans)
            over.append(f"rows read {rows:,} > {self.rows_read:,} ({tables})")
        if not over:
            return None
        return f"query budget exceeded: {'; '.join(over)}\nstatements: {_statement_list(self.spent.statements)}"


class QueryBudgets:
    """What the `query_budget` fixture gives: `query_budget(statements=, rows_read=, on=)`, a budget
    on `on` (a connection or several), by default on the test's own pg_conn."""

    def __init__(self, default: Callable[[], asyncpg.Connection | None]) -> None:
        self._default = default

    def __call__(
        self, *, statements: int | None = None, rows_read: int | None = None,
        on: asyncpg.Connection | Sequence[asyncpg.Connection] | None = None,
    ) -> QueryBudget:  # fmt: skip
        connections = on if on is not None else self._default()
        if connections is None:
            raise QueryBudgetError(
                "query_budget watches pg_conn unless told otherwise, and this test has no pg_conn: "
                "pass on= the connection the code under test uses"
            )
        return QueryBudget(connections, statements=statements, rows_read=rows_read)


async def _reads(conn: asyncpg.Connection) -> dict[str, TableReads]:
    rows = await conn.fetch(READS)
    return {r[0]: TableReads(r[0], r[1], r[2], r[3], r[4]) for r in rows}


def _logger_for(statements: list[str]) -> Callable[[Any], None]:
    """A query logger appending each statement the code sent (asyncpg's type introspection aside)."""

    def log(record: Any) -> None:
        query: str = record.query
        if query in INTROSPECTION or any(pattern.fullmatch(query) for pattern in HOUSEKEEPING):
            return
        statements.append(query)

    return log


def _statement_list(statements: Sequence[str]) -> str:
    """Each distinct statement once, in the order first sent, with how often: an N+1 shows as one
    line sent N times."""
    if not statements:
        return "none"
    counts = Counter(statements)
    return "; ".join(f"{counts[sql]}x {_shown(sql)}" for sql in dict.fromkeys(statements))


def _shown(sql: str) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= SQL_SHOWN else flat[: SQL_SHOWN - 1] + "…"


def _times(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
