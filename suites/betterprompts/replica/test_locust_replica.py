"""The Locust mix against a primary and its replica: reads on the replica, lag sampled and reported."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg

from harness.pytest_plugin import ReplicatedEnvironment
from suites.betterprompts.loadtests.test_locust import LENIENT, QUICK, Locust

COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"


async def commits_on(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(COMMITS))
    finally:
        await conn.close()


async def test_the_mix_reads_from_the_replica_and_reports_its_lag(
    fresh_replicated: ReplicatedEnvironment, tmp_path: Path, hang_timeout: float
) -> None:
    """On a database of its own on the session's pair: the load seeds only a database without
    users, which the pair's shared database stops being once another replica test wrote one."""
    env = fresh_replicated
    locust = Locust(env.database, env.endpoints, tmp_path, hang_timeout)
    locust.env["LOADTEST_REPLICA_DATABASE_URL"] = env.replica_database.dsn
    before = await commits_on(env.replica_database.dsn)
    run = await asyncio.to_thread(
        locust.run, "-f", "loadtests/", "--headless", "--shape", "none", "-u", "4", "-r", "4", "-t", locust.cap,
        *QUICK, *LENIENT,
    )  # fmt: skip
    assert run.returncode == 0, str(run)
    assert "postgres reads go to the replica as bp_app" in run.output, str(run)
    reads = run.requests[("pg", "history page")] + run.requests[("pg", "similarity search")]
    # each read is a transaction of its own on the replica (the replica's statistics count them)
    assert await commits_on(env.replica_database.dsn) - before >= reads > 0, str(run)
    lag = json.loads(Path(f"{locust.csv}_replica_lag.json").read_text())
    assert lag["samples"] >= 1, lag
    print(f"{env.endpoints.backend} replica lag under the Locust mix: {lag}")
