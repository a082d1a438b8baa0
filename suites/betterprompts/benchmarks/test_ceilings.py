"""The servers' own ceilings beside the data layer, for context: what PostgreSQL and Redis serve
to their own C benchmark clients at the same concurrency (CLIENTS connections) as the layer's
CLIENTS concurrent callers on one event loop. Each pair is one benchmark whose rounds alternate
the tool and the layer (`measure_pair`); the ratio says how much of the server's capacity one
Python process of the layer reaches (not a target, a bearing).

    pytest suites/betterprompts/benchmarks/test_ceilings.py
`ceiling-pg-pk-read`: `pgbench -S` (primary-key reads of pgbench_accounts, scale 1) vs
`repos.history.get` by id. `ceiling-redis-get`: `redis-benchmark -t get` (one key, a hit) vs
`api_cache.get` on hits. A timed round of the tools is the whole subprocess, start-up and
connections included (their own figures land in `extra_info`). HARNESS_BENCH_QUICK=1 runs fewer
rounds and smaller counts; under xdist each test runs once, small and untimed, as a smoke test.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import redis
import redis.asyncio as aioredis
from pytest_benchmark.fixture import BenchmarkFixture

from betterprompts_db.data.postgres import DataLayer, connect
from betterprompts_db.data.redis import RedisLayer
from harness.provision import Endpoints
from harness.provision.embedded import pg_bin_dir
from harness.pytest_plugin import Database
from suites.betterprompts.benchmarks._support import QUICK, Side, measure_pair, rounds
from suites.betterprompts.benchmarks.conftest import worker_db
from suites.betterprompts.benchmarks.test_redis_layer import (
    CONCURRENCY,
    PAYLOAD,
    cache_parts,
    fill_cache,
)
from suites.betterprompts.conftest import HangGuards

CLIENTS = CONCURRENCY
PAIRS = rounds(15, 8)
HISTORY = 2000
REDIS_BENCHMARK = "/usr/bin/redis-benchmark"
BENCHMARK_KEY = "key:__rand_int__"  # what `redis-benchmark -t get` reads when -r is not given


def sized(benchmark: BenchmarkFixture, timed: int, quick: int, smoke: int) -> int:
    """A count for a timed run, a HARNESS_BENCH_QUICK run, or an untimed smoke run (xdist)."""
    return smoke if benchmark.disabled else quick if QUICK else timed


def run_tool(argv: list[str | Path], timeout: float) -> str:
    """Run a benchmark tool (`timeout`: the hang guard); its stdout, or a failure that shows what it printed."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{Path(argv[0]).name} exited {done.returncode}: {done.stderr or done.stdout}"
    return done.stdout


def measure_against_tool(
    benchmark: BenchmarkFixture,
    layer: Side,
    tool_name: str,
    argv: list[str | Path],
    tool_ops: int,
    rate: re.Pattern[str],
    timeout: float,
) -> None:
    """Time `layer` against rounds of the tool (the baseline, named as its test of its own was);
    the median of the tool's own rates goes to `extra_info`."""
    rates: list[float] = []

    def once() -> None:
        found = rate.findall(run_tool(argv, timeout))
        assert found, f"{Path(argv[0]).name} printed no rate"
        rates.append(float(found[-1]))

    benchmark.extra_info["concurrency"] = CLIENTS
    measure_pair(benchmark, layer, Side(tool_name, tool_ops, once), pairs=PAIRS)
    benchmark.extra_info["tool_rate_median"] = statistics.median(rates)


def clients(name: str, loop: asyncio.AbstractEventLoop, op: Callable[[int], Awaitable[Any]], ops: int) -> Side:
    """Rounds of `ops` calls of `op` made by CLIENTS coroutines that each call it in turn, as the
    tools' clients do (no task per call, unlike the layer/raw batches)."""

    async def run() -> None:
        async def client(first: int) -> None:
            for i in range(first, ops, CLIENTS):
                await op(i)

        await asyncio.gather(*(client(c) for c in range(CLIENTS)))

    return Side(name, ops, lambda: loop.run_until_complete(run()))


def keyspace_hits(admin: redis.Redis) -> int:
    return int(admin.info("stats")["keyspace_hits"])


@pytest.fixture
def history_layer(
    settled_database: Database, loop: asyncio.AbstractEventLoop, hang_guards: HangGuards
) -> Iterator[tuple[DataLayer, list[uuid.UUID]]]:
    """A data layer (pool of CLIENTS, hang-guard deadlines) on a fresh database with HISTORY history
    rows; their ids."""

    async def build() -> tuple[DataLayer, list[uuid.UUID]]:
        data = await connect(settled_database.dsn, hang_guards.pool(min_size=CLIENTS, max_size=CLIENTS))
        users = [uuid.uuid4() for _ in range(10)]
        await data.repos.users.copy([{"id": u, "email": f"{u.hex}@e.co", "username": u.hex[:16],
                                      "password_hash": "$2b$04$" + "a" * 53} for u in users])  # fmt: skip
        ids = [uuid.uuid4() for _ in range(HISTORY)]
        await data.repos.history.copy([{"id": h, "user_id": users[n % len(users)], "request_id": f"r{n}",
                                        "original_input": "in", "enhanced_output": "out"}
                                       for n, h in enumerate(ids)])  # fmt: skip
        return data, ids

    built = loop.run_until_complete(build())
    yield built
    loop.run_until_complete(built[0].close())


@pytest.mark.benchmark(group="ceiling-pg-pk-read")
def test_pg_pk_read(
    benchmark: BenchmarkFixture,
    settled_database: Database,
    history_layer: tuple[DataLayer, list[uuid.UUID]],
    loop: asyncio.AbstractEventLoop,
    hang_timeout: float,
) -> None:
    """`repos.history.get` by id, CLIENTS at a time, against `pgbench -S`: CLIENTS connections (2
    threads), T transactions each, one PK read per transaction, in the same database."""
    data, ids = history_layer

    async def get(i: int) -> Any:
        return await data.repos.history.get(ids[i % HISTORY])

    pgbench = pg_bin_dir() / "pgbench"
    run_tool([pgbench, "-i", "-q", "-s", "1", settled_database.dsn], hang_timeout)
    per_client = sized(benchmark, timed=2500, quick=500, smoke=5)
    argv: list[str | Path] = [pgbench, "-S", "-n", "-c", str(CLIENTS), "-j", "2", "-t", str(per_client)]
    benchmark.extra_info["tool"] = "pgbench -S (tps without initial connection time)"
    layer = clients("test_pg_pk_read_layer", loop, get, sized(benchmark, timed=5000, quick=1000, smoke=48))
    tps = re.compile(r"tps = ([0-9.]+)")
    measure_against_tool(benchmark, layer, "test_pg_pk_read_pgbench", [*argv, settled_database.dsn],
                         CLIENTS * per_client, tps, hang_timeout)  # fmt: skip
    assert loop.run_until_complete(get(7)) is not None


@pytest.mark.benchmark(group="ceiling-redis-get")
def test_redis_get(
    benchmark: BenchmarkFixture,
    endpoints: Endpoints,
    redis_client: aioredis.Redis,
    services: RedisLayer,
    loop: asyncio.AbstractEventLoop,
    hang_timeout: float,
) -> None:
    """`api_cache.get` on hits, CLIENTS at a time, against `redis-benchmark -t get`: CLIENTS
    connections as the admin user on this worker's logical database, every GET a hit on one key
    holding PAYLOAD (the layer's entries hold the same)."""
    if shutil.which(REDIS_BENCHMARK) is None:
        pytest.skip(f"{REDIS_BENCHMARK} is not installed (apt-get install redis-tools)")
    parts = cache_parts(50)
    fill_cache(services, loop, parts)

    async def get(i: int) -> Any:
        return await services.api_cache.get(parts[i % len(parts)])

    db = worker_db(redis_client)
    url = urlsplit(endpoints.redis)  # the admin user: redis-benchmark's key is outside bp_app's bp:*
    server = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379), "--dbnum", str(db)]
    if url.username:
        server += ["--user", unquote(url.username)]
    if url.password:
        server += ["-a", unquote(url.password)]
    requests = sized(benchmark, timed=100_000, quick=20_000, smoke=500)
    argv: list[str | Path] = [REDIS_BENCHMARK, *server, "-c", str(CLIENTS), "-n", str(requests), "-t", "get", "-q"]
    benchmark.extra_info["tool"] = "redis-benchmark -t get (requests per second)"
    layer = clients("test_redis_get_layer", loop, get, sized(benchmark, timed=5000, quick=1000, smoke=48))
    with redis.Redis.from_url(endpoints.redis_url(db)) as admin:
        admin.set(BENCHMARK_KEY, PAYLOAD)
        hits_before = keyspace_hits(admin)
        rate = re.compile(r"GET: ([0-9.]+) requests per second")
        measure_against_tool(benchmark, layer, "test_redis_get_redis_benchmark", argv, requests, rate, hang_timeout)
        # the server counts hits over all databases, so other workers only add: at least a round's worth are ours
        assert keyspace_hits(admin) - hits_before >= requests
    assert loop.run_until_complete(get(3)) == PAYLOAD
