"""Seeding speed: the `load` profile's rows per second, beside `pgbench -i` on the same server.

Run as its own invocation (pytest-benchmark does not time under xdist):
    pytest suites/betterprompts/benchmarks/test_seeding.py
Under `pytest -n auto` it runs once, untimed, at a tiny scale as a smoke test.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Awaitable, Callable, Iterator

import asyncpg
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from betterprompts_db.seed import SeedReport, seed
from betterprompts_db.settings import BetterPromptsSettings
from harness.config import Settings
from harness.isolation import RunState
from harness.plugins import plugin_settings
from harness.provision import Endpoints
from harness.provision.databases import create_database, drop_database
from harness.provision.embedded import pg_bin_dir
from suites.betterprompts.benchmarks._support import rounds

SMOKE_SCALE = 0.01
PGBENCH_ROWS_PER_SCALE = 100_000 + 10 + 1  # accounts, tellers, branches


class Databases:
    """Databases cloned from the run's template, each dropped at the end."""

    def __init__(self, loop: asyncio.AbstractEventLoop, endpoints: Endpoints, template: str) -> None:
        self.loop, self.endpoints, self.template = loop, endpoints, template
        self.names: list[str] = []

    def create(self) -> str:
        name = f"hx_seedbench_{secrets.token_hex(4)}"
        self.names.append(name)
        self.admin(lambda conn: create_database(conn, name, self.template))
        return self.endpoints.postgres_dsn(name)

    def drop_all(self) -> None:
        async def drop(conn: asyncpg.Connection) -> None:
            for name in self.names:
                await drop_database(conn, name)

        self.admin(drop)

    def admin(self, do: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
        async def execute() -> None:
            conn = await asyncpg.connect(self.endpoints.postgres)
            try:
                await do(conn)
            finally:
                await conn.close()

        self.loop.run_until_complete(execute())


@pytest.fixture
def databases(loop: asyncio.AbstractEventLoop, harness_run: RunState) -> Iterator[Databases]:
    made = Databases(loop, harness_run.endpoints, harness_run.template)
    yield made
    made.drop_all()


def pgbench_initialise(dsn: str, scale: int) -> None:
    """`pgbench -i -s scale`: client-side generation, COPY, vacuum, primary keys."""
    subprocess.run([str(pg_bin_dir() / "pgbench"), "-i", "-q", "-s", str(scale), dsn], check=True, capture_output=True)


@pytest.mark.benchmark(group="seeding")
def test_seeding_the_load_profile(
    benchmark: BenchmarkFixture, databases: Databases, loop: asyncio.AbstractEventLoop, harness_settings: Settings
) -> None:
    scale = SMOKE_SCALE if benchmark.disabled else rounds(1.0, 0.05)
    reports: list[SeedReport] = []

    def load() -> None:
        target = databases.create()
        cost = plugin_settings(harness_settings, BetterPromptsSettings).bcrypt_cost
        loading = seed(target, "load", scale=scale, seeds_dir=harness_settings.seeds_dir, bcrypt_cost=cost)
        reports.append(loop.run_until_complete(loading))

    benchmark.pedantic(load, rounds=1, iterations=1)
    report = reports[-1]
    assert report.inserted == report.expected
    embeddings = report.tables["prompts.embeddings"]
    benchmark.extra_info.update(
        {
            "role": "subject",
            "ops_per_round": report.rows_inserted,
            "profile": f"load x{scale:g}",
            "generate_seconds": round(report.generate_seconds, 2),
            "load_seconds": round(report.load_seconds, 2),
            "embeddings_seconds": round(embeddings.seconds, 2),  # the HNSW build is most of it
        }
    )


@pytest.mark.benchmark(group="seeding")
def test_pgbench_initialise(benchmark: BenchmarkFixture, databases: Databases) -> None:
    """The baseline: pgbench's own loader at about the load profile's row count."""
    scale = 1 if benchmark.disabled else rounds(6, 1)
    benchmark.extra_info.update(role="baseline", ops_per_round=scale * PGBENCH_ROWS_PER_SCALE, pgbench_scale=scale)
    benchmark.pedantic(lambda: pgbench_initialise(databases.create(), scale), rounds=1, iterations=1)
