"""Seeding speed: the `load` profile's rows per second, beside `pgbench -i` on the same server.

Run as its own invocation (pytest-benchmark does not time under xdist):
    pytest suites/benchmarks/test_seeding.py
Under `pytest -n auto` it runs once, untimed, at a tiny scale as a smoke test.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import time
from collections.abc import Iterator

import asyncpg
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.config import Settings
from harness.isolation import RunState
from harness.provision import Endpoints
from harness.provision.embedded import pg_bin_dir
from harness.seed import SeedReport, seed

SMOKE_SCALE = 0.01
PGBENCH_ROWS_PER_SCALE = 100_000 + 10 + 1  # accounts, tellers, branches


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One long-lived event loop for a benchmark, never asyncio.run per call."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


class Databases:
    """Databases cloned from the run's template, each dropped at the end."""

    def __init__(self, loop: asyncio.AbstractEventLoop, endpoints: Endpoints, template: str) -> None:
        self.loop, self.endpoints, self.template = loop, endpoints, template
        self.names: list[str] = []

    def create(self) -> str:
        name = f"hx_seedbench_{secrets.token_hex(4)}"
        self.names.append(name)
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.endpoints.postgres_dsn(name)

    def drop_all(self) -> None:
        for name in self.names:
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def admin(self, statement: str) -> None:
        async def execute() -> None:
            conn = await asyncpg.connect(self.endpoints.postgres)
            try:
                await conn.execute(statement)
            finally:
                await conn.close()

        self.loop.run_until_complete(execute())


@pytest.fixture
def databases(loop: asyncio.AbstractEventLoop, harness_run: RunState) -> Iterator[Databases]:
    made = Databases(loop, harness_run.endpoints, harness_run.template)
    yield made
    made.drop_all()


def pgbench_initialise(dsn: str, scale: int) -> float:
    """Seconds `pgbench -i -s scale` takes (client-side generation, COPY, vacuum, primary keys)."""
    started = time.perf_counter()
    subprocess.run([str(pg_bin_dir() / "pgbench"), "-i", "-q", "-s", str(scale), dsn], check=True, capture_output=True)
    return time.perf_counter() - started


@pytest.mark.benchmark(group="seeding")
def test_seeding_the_load_profile_beside_pgbench_initialise(
    benchmark: BenchmarkFixture,
    databases: Databases,
    loop: asyncio.AbstractEventLoop,
    harness_settings: Settings,
) -> None:
    scale = SMOKE_SCALE if benchmark.disabled else 1.0
    reports: list[SeedReport] = []

    def load() -> None:
        target = databases.create()
        reports.append(loop.run_until_complete(seed(target, "load", scale=scale, seeds_dir=harness_settings.seeds_dir)))

    benchmark.pedantic(load, rounds=1, iterations=1)
    report = reports[-1]
    assert report.inserted == report.expected

    pgbench_scale = max(1, round(report.rows_inserted / PGBENCH_ROWS_PER_SCALE))
    pgbench_seconds = pgbench_initialise(databases.create(), pgbench_scale)
    pgbench_rows_per_second = pgbench_scale * PGBENCH_ROWS_PER_SCALE / pgbench_seconds
    embeddings = report.tables["prompts.embeddings"]
    benchmark.extra_info.update(
        {
            "profile": f"load x{scale:g}",
            "rows": report.rows_inserted,
            "generate_seconds": round(report.generate_seconds, 2),
            "load_seconds": round(report.load_seconds, 2),
            "rows_per_second": round(report.rows_per_second),
            "embeddings_seconds": round(embeddings.seconds, 2),  # the HNSW build is most of it
            "pgbench_scale": pgbench_scale,
            "pgbench_rows_per_second": round(pgbench_rows_per_second),
            "ratio_to_pgbench": round(report.rows_per_second / pgbench_rows_per_second, 4),
        }
    )
