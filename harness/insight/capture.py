"""A run's insight: zeroed at its start (`start_insight`), read at its end (`capture_insight`) and
written as one JSON document, `insight.json`:

    {"version": 1, "captured_at": "<ISO 8601>",
     "postgres": [{"server": "127.0.0.1:5432", "databases": [names whose tables were read],
                   "statements": [{"query", "queryid", "calls", "total_ms", "mean_ms", "stddev_ms", "rows",
                                   "shared_blks_hit", "shared_blks_read", "temp_blks_read", "temp_blks_written"}],
                   "plans": [{"database", "duration_ms", "query", "plan": <auto_explain JSON>}],
                   "tables": [{"name", "seq_scan", "seq_tup_read", "idx_scan", "n_live_tup", "n_dead_tup"}],
                   "indexes": [{"table_name", "name", "idx_scan", "bytes"}],   # not backing a constraint
                   "lock_waits": [{"database", "at", "message", "detail", "statement"}],
                   "problems": ["why a part is missing"]}],
     "redis": {"commands": [{"command", "calls", "usec", "usec_per_call", "failed_calls", "rejected_calls"}],
               "latency": [{"event", "latest_ms", "max_ms", "history": [[unix time, ms]]}],
               "slowlog": [{"at", "duration_us", "command"}], "problems": [...]}}

A server that cannot say (no pg_stat_statements, a Redis user without CONFIG) gives its problem,
not a failed run: insight explains a run, it never decides one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import redis.exceptions

from harness.insight.postgres import capture_postgres, reset_postgres
from harness.insight.redis_stats import capture_redis, reset_redis
from harness.insight.server_log import LogMark
from harness.provision.endpoints import redact
from harness.provision.registry import write_private

INSIGHT_FILE = "insight.json"
VERSION = 1
FAILURES = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, redis.exceptions.RedisError)


@dataclass(frozen=True)
class InsightStart:
    """What `start_insight` did: where the log starts, and why a part could not be zeroed."""

    postgres_dsn: str
    redis_url: str
    mark: LogMark
    problems: tuple[str, ...] = ()
    database: str | None = None  # the one database watched; None: the whole server


async def start_insight(postgres_dsn: str, redis_url: str, database: str | None = None) -> InsightStart:
    """Zero the servers' statistics (an admin DSN and URL: both need their superuser); given
    `database`, only that database's statements and tables are zeroed and captured."""
    problems = []
    mark = LogMark(None)
    try:
        mark = await reset_postgres(postgres_dsn, database)
    except FAILURES as exc:
        problems.append(f"postgres {redact(postgres_dsn)}: not reset ({type(exc).__name__}: {exc})")
    try:
        await reset_redis(redis_url)
    except FAILURES as exc:
        problems.append(f"redis {redact(redis_url)}: not reset ({type(exc).__name__}: {exc})")
    return InsightStart(postgres_dsn, redis_url, mark, tuple(problems), database)


async def capture_insight(
    start: InsightStart, databases: Iterable[str] = (), snapshots: Iterable[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The document: the servers' statistics since `start`, the tables of `databases` and `snapshots`."""
    try:
        postgres = await capture_postgres(start.postgres_dsn, start.mark, databases, snapshots, start.database)
    except FAILURES as exc:
        postgres = {"server": redact(start.postgres_dsn), "problems": [f"{type(exc).__name__}: {exc}"]}
    postgres["problems"] = [p for p in start.problems if p.startswith("postgres")] + postgres.get("problems", [])
    try:
        cache: dict[str, Any] = await capture_redis(start.redis_url)
    except FAILURES as exc:
        cache = {"problems": [f"{type(exc).__name__}: {exc}"]}
    cache["problems"] = [p for p in start.problems if p.startswith("redis")] + cache.get("problems", [])
    return {"version": VERSION, "captured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "postgres": [postgres], "redis": cache}  # fmt: skip


def write_insight(document: dict[str, Any], path: Path) -> Path:
    """Private (0600): the statements' texts may hold literal values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps(document, indent=1, default=str) + "\n")
    return path
