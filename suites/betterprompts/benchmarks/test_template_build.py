"""Template build: the harness migrating a new database (the runner: advisory lock, checksums,
one transaction per migration, its version rows) and seeding it with `minimal`, beside plain
`psql -1 -f` of the same up files (one transaction) into a new database: the runner's overhead, as a ratio.

    pytest suites/betterprompts/benchmarks/test_template_build.py
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Iterator

import asyncpg
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from betterprompts_db.recipe import SeedProfile
from betterprompts_db.settings import BetterPromptsSettings
from harness.config import Settings
from harness.isolation import Recipe, RunState
from harness.isolation.template import ensure_template
from harness.migrate.files import load_migrations
from harness.plugins import plugin_settings
from harness.provision.databases import drop_database
from harness.provision.embedded import pg_bin_dir
from suites.betterprompts.benchmarks._support import rounds

ROUNDS = rounds(5, 3)


class Names:
    """Database names for one benchmark, all dropped at the end."""

    def __init__(self, loop: asyncio.AbstractEventLoop, run: RunState) -> None:
        self.loop, self.run, self.made = loop, run, list[str]()

    def new(self) -> str:
        name = f"hx_tplbench_{secrets.token_hex(4)}"
        self.made.append(name)
        return name

    def admin(self, statement: str) -> None:
        async def execute() -> None:
            conn = await asyncpg.connect(self.run.endpoints.postgres)
            try:
                await conn.execute(statement)
            finally:
                await conn.close()

        self.loop.run_until_complete(execute())

    def drop_all(self) -> None:
        async def drop() -> None:
            conn = await asyncpg.connect(self.run.endpoints.postgres)
            try:
                for name in self.made:
                    await conn.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
                    await drop_database(conn, name)
            finally:
                await conn.close()

        self.loop.run_until_complete(drop())


@pytest.fixture
def names(loop: asyncio.AbstractEventLoop, harness_run: RunState) -> Iterator[Names]:
    made = Names(loop, harness_run)
    yield made
    made.drop_all()


@pytest.mark.parametrize("contents", ["migrate", "migrate+seed-minimal"])
@pytest.mark.benchmark(group="template-build")
def test_harness_template_build(
    benchmark: BenchmarkFixture,
    names: Names,
    loop: asyncio.AbstractEventLoop,
    harness_run: RunState,
    harness_settings: Settings,
    contents: str,
) -> None:
    endpoints = harness_run.endpoints
    seed = None
    if contents.endswith("minimal"):
        cost = plugin_settings(harness_settings, BetterPromptsSettings).bcrypt_cost
        seed = SeedProfile("minimal", harness_settings.seeds_dir, bcrypt_cost=cost)
    recipe = Recipe(harness_settings.migrations_dir, seed)

    def build() -> None:
        loop.run_until_complete(ensure_template(endpoints, names.new(), recipe))

    benchmark.extra_info["role"] = "subject"
    benchmark.pedantic(build, rounds=ROUNDS, warmup_rounds=1)


@pytest.mark.benchmark(group="template-build")
def test_psql_applying_the_up_files(
    benchmark: BenchmarkFixture, names: Names, harness_run: RunState, harness_settings: Settings
) -> None:
    """The baseline: CREATE DATABASE and `psql -1 -f` of every up file, nothing recorded."""
    files = [arg for m in load_migrations(harness_settings.migrations_dir) for arg in ("-f", str(m.up.path))]

    def build() -> None:
        name = names.new()
        names.admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        psql = subprocess.run(
            [str(pg_bin_dir() / "psql"), "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", *files,
             harness_run.endpoints.postgres_dsn(name)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert psql.returncode == 0, psql.stderr

    benchmark.extra_info["role"] = "baseline"
    benchmark.pedantic(build, rounds=ROUNDS, warmup_rounds=1)
