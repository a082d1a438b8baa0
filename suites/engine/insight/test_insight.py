"""What the database did during a run (harness.insight), read back as `harness report` shows it:
each test zeroes and captures the statistics of servers of its own, so nobody else's statements count."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from harness.errors import ResultsFileError
from harness.insight import InsightStart, capture_insight, start_insight, write_insight
from harness.provision.waiting import wait_for
from harness.pytest_plugin import PrivateEnvironment
from harness.report.build import build_report, write_report
from harness.report.insight import Capture, regressions
from suites.engine.isolation.test_plugin_session import child_env

__all__ = ["child_env"]  # the child run's settings and state directory, a fixture of the session tests

ROWS = 50_000
BIG_TABLE = f"""
CREATE TABLE big AS SELECT g AS id, g % 100 AS k, md5(g::text) AS pad FROM generate_series(1, {ROWS}) g;
CREATE INDEX big_id ON big (id);
CREATE INDEX big_pad ON big (pad);
ANALYZE big;
"""
BY_ID = "SELECT pad FROM big WHERE id = $1"


async def run(dsn: str, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """`statements` on a connection of their own, their table statistics flushed before it closes."""
    conn = await asyncpg.connect(dsn)
    try:
        for query, args in statements:
            await (conn.fetch(query, *args) if args else conn.execute(query))
        await conn.execute("SELECT pg_stat_force_next_flush()")  # flushed as the backend goes idle
    finally:
        await conn.close()


async def started(env: PrivateEnvironment) -> InsightStart:
    start = await start_insight(env.endpoints.postgres, env.endpoints.redis)
    assert not start.problems, start.problems
    return start


def server_of(document: dict[str, Any]) -> dict[str, Any]:
    server: dict[str, Any] = document["postgres"][0]
    assert not server["problems"], server["problems"]
    return server


async def test_a_sequential_scan_over_a_big_table_and_an_unused_index_are_shown(
    private_environment: PrivateEnvironment,
) -> None:
    db = private_environment.database
    await run(db.dsn, (BIG_TABLE, ()))
    start = await started(private_environment)
    await run(db.dsn, *[("SELECT count(*) FROM big WHERE k = $1", (k,)) for k in range(3)], (BY_ID, (7,)))
    capture = Capture("insight.json", await capture_insight(start, [db.name]))
    server = server_of(capture.document)
    [(table, _)] = [(t, q) for t, q in capture.seq_scanned(server) if t["name"] == "public.big"]
    assert table["seq_scan"] >= 3, table
    assert table["seq_tup_read"] >= 3 * ROWS, table
    assert "public.big_pad" in {i["name"] for i in capture.unused_indexes(server)}
    assert "public.big_id" not in {i["name"] for i in capture.unused_indexes(server)}
    counted = {s["query"]: s for s in server["statements"]}
    assert counted["SELECT count(*) FROM big WHERE k = $1"]["calls"] == 3


async def test_a_statement_slower_than_the_threshold_has_its_plan_captured_with_buffers(
    private_environment: PrivateEnvironment,
) -> None:
    db = private_environment.database
    start = await started(private_environment)
    await run(db.dsn, ("SELECT pg_sleep(0.15), count(*) FROM pg_class", ()))
    found: list[dict[str, Any]] = []

    async def plan_logged() -> bool:  # the logging collector writes the plan a moment later
        found[:] = server_of(await capture_insight(start, []))["plans"]
        return any("pg_sleep" in p["query"] for p in found)

    await wait_for(plan_logged, "auto_explain's plan of the slow statement in the jsonlog", timeout=30)
    [plan] = [p for p in found if "pg_sleep" in p["query"]]
    assert plan["duration_ms"] >= 150
    assert plan["database"] == db.name
    assert "Shared Hit Blocks" in json.dumps(plan["plan"])


async def test_redis_commandstats_count_the_commands_the_run_sent(private_environment: PrivateEnvironment) -> None:
    start = await started(private_environment)
    client = aioredis.Redis.from_url(private_environment.endpoints.redis)
    try:
        for n in range(5):
            await client.set(f"insight:{n}", n)
        await client.get("insight:0")
    finally:
        await client.aclose()
    commands = {c["command"]: c for c in (await capture_insight(start, []))["redis"]["commands"]}
    assert commands["set"]["calls"] == 5
    assert commands["get"]["calls"] == 1
    assert "flushall" not in commands  # zeroed at the start: nothing from before it
    assert "config|resetstat" not in commands  # nor the zeroing itself


async def test_a_statement_an_index_drop_made_heavier_regresses_against_the_baseline_run(
    private_environment: PrivateEnvironment, tmp_path: Path
) -> None:
    db = private_environment.database
    await run(db.dsn, (BIG_TABLE, ()))
    lookups = [(BY_ID, (n,)) for n in range(1, 21)]
    start = await started(private_environment)
    await run(db.dsn, *lookups)
    before = await capture_insight(start, [db.name])
    await run(db.dsn, ("DROP INDEX big_id", ()))
    start = await started(private_environment)
    await run(db.dsn, *lookups)
    after = await capture_insight(start, [db.name])

    assert "shared blocks per call" in [r.what for r in regressions(after, before) if r.query == BY_ID]
    assert not [r for r in regressions(before, before) if r.query == BY_ID]
    write_insight(before, tmp_path / "baseline" / "insight.json")
    write_insight(after, tmp_path / "run" / "insight.json")
    report = build_report(tmp_path / "run", insight_baseline=tmp_path / "baseline")
    assert any("regressed: shared blocks per call" in r and BY_ID in r for r in report.check_failures())


def page_parts(page: str) -> dict[str, str]:
    """The text of each part of the page's insight sections (`data-part`), tags dropped."""
    found = re.findall(r'<section data-part="([a-z-]+)">(.*?)</section>', page, re.DOTALL)
    return {part: html.unescape(re.sub(r"<[^>]+>", " ", body)) for part, body in found}


async def test_the_page_of_a_real_run_shows_statements_with_plans_seq_scans_unused_indexes_and_redis(
    private_environment: PrivateEnvironment, tmp_path: Path
) -> None:
    db = private_environment.database
    await run(db.dsn, (BIG_TABLE, ()))
    start = await started(private_environment)
    slow = "SELECT pg_sleep($2), count(*) FROM big WHERE pad LIKE $1"  # past insight_explain_ms: planned
    await run(db.dsn, *[("SELECT count(*) FROM big WHERE k = $1", (k,)) for k in range(3)], (slow, ("a%", 0.15)))
    client = aioredis.Redis.from_url(private_environment.endpoints.redis)
    try:
        await client.set("insight:page", 1)
    finally:
        await client.aclose()
    document: dict[str, Any] = {}

    async def plan_logged() -> bool:  # the logging collector writes the plan a moment later
        document.update(await capture_insight(start, [db.name]))
        return any("pg_sleep" in p["query"] for p in server_of(document)["plans"])

    await wait_for(plan_logged, "auto_explain's plan of the slow statement in the jsonlog", timeout=30)
    write_insight(document, tmp_path / "insight-small.json")
    page = write_report(build_report(tmp_path)).read_text()

    assert '<section class="insight" data-source="insight-small.json">' in page
    parts = page_parts(page)
    assert slow in parts["statements"]
    assert "plan caught by auto_explain" in parts["statements"]
    assert "Seq Scan on big" in parts["statements"]  # the plan itself, of the slow statement
    assert "public.big" in parts["seq-scans"]
    assert slow in parts["seq-scans"]
    assert "public.big_id" in parts["unused-indexes"]
    assert "public.big_pad" in parts["unused-indexes"]
    assert re.search(r"\bset\s+1\b", parts["redis"]), parts["redis"]  # the command and its one call


SCANS_ITS_CLONE = """
import asyncio
import asyncpg

async def scan(dsn):
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE scanned AS SELECT g FROM generate_series(1, 20000) g")
    await conn.fetchval("SELECT count(*) FROM scanned WHERE g > $1", 5)
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.close()

def test_scan(worker_database):
    asyncio.run(scan(worker_database.dsn))
"""


@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["alone", "xdist"])
def test_a_pytest_run_writes_insight_beside_its_junit_with_its_clones_tables(
    tmp_path: Path, child_env: dict[str, str], workers: list[str]
) -> None:
    (tmp_path / "test_child.py").write_text(SCANS_ITS_CLONE)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *workers, f"--junitxml={tmp_path}/junit-child.xml",
         str(tmp_path)], cwd=tmp_path, env=child_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    server = server_of(json.loads((tmp_path / "insight-child.json").read_text()))
    [table] = [t for t in server["tables"] if t["name"] == "public.scanned"]
    assert table["seq_tup_read"] >= 20_000
    assert "SELECT count(*) FROM scanned WHERE g > $1" in {s["query"] for s in server["statements"]}


def capture_of(mean_ms: float, **extra: Any) -> dict[str, Any]:
    statement = {"query": BY_ID, "calls": 10, "total_ms": 10 * mean_ms, "mean_ms": mean_ms, "stddev_ms": 0.0,
                 "rows": 10, "shared_blks_hit": 40, "shared_blks_read": 0, "temp_blks_read": 0,
                 "temp_blks_written": 0}  # fmt: skip
    return {"version": 1, "postgres": [{"statements": [statement]}], "redis": {}, **extra}


def test_a_baseline_carries_its_own_tolerances_and_a_bad_one_is_named(tmp_path: Path) -> None:
    twice_as_slow = capture_of(6.0)
    [change] = regressions(twice_as_slow, capture_of(3.0))
    assert (change.what, change.tolerance) == ("mean time", 0.5)
    assert not regressions(twice_as_slow, capture_of(3.0, tolerances={"mean time": 1.5}))
    assert regressions(capture_of(9.0), capture_of(3.0, tolerances={"mean time": 1.5}))
    write_insight(twice_as_slow, tmp_path / "run" / "insight.json")
    write_insight(capture_of(3.0, tolerances={"mean": 1.5}), tmp_path / "baseline.json")
    with pytest.raises(ResultsFileError, match=r"baseline\.json: not an insight file .*tolerances must map some of"):
        build_report(tmp_path / "run", insight_baseline=tmp_path / "baseline.json")


def statement_run(calls: int, blocks: int) -> dict[str, Any]:
    """A capture holding one statement: `calls` calls that read `blocks` shared blocks in all."""
    statement = {"query": "SELECT f($1)", "calls": calls, "mean_ms": 0.5, "shared_blks_hit": blocks,
                 "shared_blks_read": 0}  # fmt: skip
    return {"postgres": [{"statements": [statement]}]}


def test_fewer_calls_sharing_a_functions_fixed_catalog_reads_are_no_regression_a_heavier_call_is() -> None:
    """A PL/pgSQL function's first calls per connection read the catalog: 15 calls of one read
    2,356 blocks where 40 read 2,544 (a busy machine's short Locust run against its baseline)."""
    baseline = statement_run(40, 2544)
    assert regressions(statement_run(15, 2356), baseline) == []
    # the same 15 calls, each reading a table of 1,000 blocks more (its index dropped), do regress
    [heavier] = regressions(statement_run(15, 2356 + 15 * 1000), baseline)
    assert (heavier.what, heavier.baseline) == ("shared blocks per call", 2544 / 40)
