"""What a PostgreSQL server did during a run: `pg_stat_statements` across the server, the tables'
and indexes' scan counts per database, the plans and lock waits its log holds.

Statement statistics are server-wide and outlive a dropped clone; table statistics live per
database and die with it, so they are read from the databases named at capture (the run's
clones still alive then) and summed table by table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from harness.insight.server_log import LogMark, mark_log, read_events
from harness.provision.endpoints import with_database

PASSWORD_LITERAL = re.compile(r"(?i)(password\s*)'(?:[^']|'')*'")
KEPT_STATEMENTS = 200  # by total time, after statements of one text are summed over databases and roles

STATEMENTS = """
SELECT s.query, s.calls, s.total_exec_time, s.stddev_exec_time, s.rows, s.shared_blks_hit, s.shared_blks_read,
       s.temp_blks_read, s.temp_blks_written, s.queryid::text AS queryid
FROM pg_stat_statements s
WHERE $1::text IS NULL OR s.dbid = (SELECT oid FROM pg_database WHERE datname = $1)
"""
TABLES = """
SELECT schemaname || '.' || relname AS name, seq_scan, seq_tup_read, coalesce(idx_scan, 0) AS idx_scan,
       n_live_tup, n_dead_tup
FROM pg_stat_user_tables
"""
# indexes that back a constraint (primary key, unique, exclusion) work without being scanned
UNUSED_INDEXES = """
SELECT u.schemaname || '.' || u.relname AS table_name, u.schemaname || '.' || u.indexrelname AS name,
       u.idx_scan, pg_relation_size(u.indexrelid) AS bytes
FROM pg_stat_user_indexes u JOIN pg_index i ON i.indexrelid = u.indexrelid
WHERE NOT i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = u.indexrelid)
"""


async def connect_unseen(dsn: str) -> asyncpg.Connection:
    """A connection whose own statements pg_stat_statements does not count (superuser-settable):
    reading a clone's statistics at every test's end would otherwise top the list."""
    return await asyncpg.connect(dsn, server_settings={"pg_stat_statements.track": "none"})


def normalise(query: str) -> str:
    """A statement's text with its whitespace collapsed: how statements match across databases and runs
    (query ids hash relation OIDs, which differ once a template is rebuilt). A utility statement keeps
    its literals, so a password in one is hidden."""
    return PASSWORD_LITERAL.sub(r"\1'***'", re.sub(r"\s+", " ", query).strip())


async def reset_postgres(dsn: str, database: str | None = None) -> LogMark:
    """Zero the server's statement statistics and the table statistics of every database that takes
    connections, or, given `database`, only that database's (a load test beside a running suite);
    return where the run's part of the log starts."""
    admin = await connect_unseen(dsn)
    try:
        await admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        if database is None:
            await admin.execute("SELECT pg_stat_statements_reset()")
            rows = await admin.fetch("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate")
            names = [row["datname"] for row in rows]
        else:
            await admin.execute(
                "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = $1), 0)", database
            )
            names = [database]
        for name in names:
            await _in_database(dsn, name, "SELECT pg_stat_reset()")
        return await mark_log(admin)
    finally:
        await admin.close()


async def _in_database(dsn: str, database: str, query: str) -> list[asyncpg.Record]:
    """`query`'s rows in `database`; none when it was dropped meanwhile."""
    try:
        conn = await connect_unseen(with_database(dsn, database))
    except asyncpg.InvalidCatalogNameError:
        return []
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def table_snapshot(dsn: str) -> dict[str, Any]:
    """One database's tables and unused indexes, read before the database goes (a clone is dropped).
    Its OID names it: a clone reused under a new name keeps its OID and its counts, so a later
    snapshot of one OID replaces the earlier. Empty of rows when the database was dropped meanwhile."""
    database = urlsplit(dsn).path.lstrip("/")
    snapshot: dict[str, Any] = {"database": database, "oid": None, "tables": [], "indexes": []}
    try:
        conn = await connect_unseen(dsn)
    except asyncpg.InvalidCatalogNameError:
        return snapshot
    try:
        snapshot["oid"] = await conn.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
        snapshot["tables"] = [dict(r) for r in await conn.fetch(TABLES)]
        snapshot["indexes"] = [dict(r) for r in await conn.fetch(UNUSED_INDEXES)]
    finally:
        await conn.close()
    return snapshot


async def capture_postgres(
    dsn: str, mark: LogMark, databases: Iterable[str], snapshots: Iterable[dict[str, Any]] = (), only: str | None = None
) -> dict[str, Any]:
    """The server's statements, plans and lock waits since `mark` (of database `only`, when given),
    and the tables and indexes of `databases` (read now) and of `snapshots` (read earlier), summed by name."""
    admin = await connect_unseen(dsn)
    try:
        statements = summed_statements(await admin.fetch(STATEMENTS, only))
        plans, lock_waits = await read_events(admin, mark)
        if only is not None:
            plans, lock_waits = (
                [p for p in plans if p["database"] == only],
                [w for w in lock_waits if w["database"] == only],
            )
        host = await admin.fetchval(
            "SELECT coalesce(host(inet_server_addr()), 'local') || ':' || current_setting('port')"
        )
    finally:
        await admin.close()
    taken = list(snapshots) + [await table_snapshot(with_database(dsn, name)) for name in sorted(set(databases))]
    names = sorted({s["database"] for s in taken})
    tables = [table for snapshot in taken for table in snapshot["tables"]]
    indexes = [index for snapshot in taken for index in snapshot["indexes"]]
    problems = [] if mark.path else ["the server writes no jsonlog: no plans or lock waits (log_destination)"]
    return {
        "server": host, "databases": names, "statements": statements, "plans": plans,
        "tables": _summed(tables, "name"), "indexes": _summed(indexes, "name"), "lock_waits": lock_waits,
        "problems": problems,
    }  # fmt: skip


def summed_statements(rows: Iterable[asyncpg.Record | dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of one text summed (each clone and role has its own row), with mean and pooled
    standard deviation recomputed; the KEPT_STATEMENTS of most total time."""
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = normalise(row["query"])
        calls, total, stddev = int(row["calls"]), float(row["total_exec_time"]), float(row["stddev_exec_time"])
        squares = calls * (stddev**2 + (total / calls) ** 2) if calls else 0.0
        group = groups.setdefault(key, {"query": key, "queryid": row["queryid"], "calls": 0, "total_ms": 0.0,
                                        "squares": 0.0, "rows": 0, "shared_blks_hit": 0, "shared_blks_read": 0,
                                        "temp_blks_read": 0, "temp_blks_written": 0})  # fmt: skip
        group["calls"] += calls
        group["total_ms"] += total
        group["squares"] += squares
        for name in ("rows", "shared_blks_hit", "shared_blks_read", "temp_blks_read", "temp_blks_written"):
            group[name] += int(row[name])
    kept = sorted(groups.values(), key=lambda g: -g["total_ms"])[:KEPT_STATEMENTS]
    for group in kept:
        squares = group.pop("squares")
        mean = group["total_ms"] / group["calls"] if group["calls"] else 0.0
        group["mean_ms"] = mean
        group["stddev_ms"] = math.sqrt(max(squares / group["calls"] - mean**2, 0.0)) if group["calls"] else 0.0
    return kept


def _summed(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows of one name (a table in several clones) with their numbers added."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        into = merged.setdefault(row[key], dict.fromkeys(row, 0) | {k: v for k, v in row.items() if isinstance(v, str)})
        for name, value in row.items():
            if not isinstance(value, str):
                into[name] += value
    return list(merged.values())
