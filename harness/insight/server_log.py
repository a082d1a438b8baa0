"""The part of a server's jsonlog a run wrote: auto_explain's plans and the lock waits
`log_lock_waits` reports, read over SQL (`pg_read_file`, superuser) from the offset noted at the
run's start, so the same code serves every backend without touching its files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import asyncpg

PLAN_MESSAGE = re.compile(r"duration: ([0-9.]+) ms\s+plan:\s*(\{.*\})\s*$", re.DOTALL)
LOCK_WAIT = "still waiting for"
KEPT_PLANS = 50  # the slowest, per capture


@dataclass(frozen=True)
class LogMark:
    """Where the run's part of the jsonlog starts; `path` None when the server writes none."""

    path: str | None
    offset: int = 0


async def mark_log(admin: asyncpg.Connection) -> LogMark:
    path = await admin.fetchval("SELECT pg_current_logfile('jsonlog')")
    if path is None:
        return LogMark(None)
    return LogMark(path, int(await admin.fetchval("SELECT (pg_stat_file($1)).size", path)))


async def read_events(admin: asyncpg.Connection, mark: LogMark) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(plans, lock waits) logged since `mark`: plans slowest first, at most KEPT_PLANS."""
    if mark.path is None:
        return [], []
    end = int(await admin.fetchval("SELECT (pg_stat_file($1)).size", mark.path))
    # the server keeps only the lines wanted, so little crosses the wire; the last may be cut mid-write
    lines = await admin.fetchval(
        "SELECT coalesce(array_agg(line), '{}') FROM regexp_split_to_table(pg_read_file($1, $2, $3), E'\\n') line "
        f"WHERE line LIKE '%plan:%' OR line LIKE '%{LOCK_WAIT}%'",
        mark.path, mark.offset, max(end - mark.offset, 0),
    )  # fmt: skip
    plans, waits = [], []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # the line being written as we read
            continue
        message = str(entry.get("message", ""))
        if found := PLAN_MESSAGE.match(message):
            plan = json.loads(found.group(2))
            plans.append({"database": entry.get("dbname"), "duration_ms": float(found.group(1)),
                          "query": plan.get("Query Text", ""), "plan": plan.get("Plan", plan)})  # fmt: skip
        elif LOCK_WAIT in message:
            waits.append({"database": entry.get("dbname"), "at": entry.get("timestamp"), "message": message,
                          "detail": entry.get("detail"), "statement": entry.get("statement")})  # fmt: skip
    plans.sort(key=lambda p: -p["duration_ms"])
    return plans[:KEPT_PLANS], waits
