"""`harness migrate up` of 500 trivial migrations with squawk on (the default `warn`): the command
as a user runs it, and the library call without the process start-up, beside `psql -1 -f` of the
same up files, each into an empty database made before the timed round. Issue #14 asks for `up`
within five times psql's time (a ratio of at least 0.2). For reference, the command with nothing
pending: its start-up, settings, connection, lock and plan, the cost no migration adds to.

    pytest -p no:xdist suites/betterprompts/benchmarks/test_migrate_up.py
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.isolation import RunState
from harness.migrate import Finding, apply_migrations, pending_check
from harness.provision.databases import create_database, drop_database
from harness.provision.embedded import pg_bin_dir
from suites.betterprompts.benchmarks._support import rounds

MIGRATIONS = 500
ROUNDS = rounds(5, 3)
ROOT = Path(__file__).resolve().parents[3]
HARNESS = Path(sys.executable).parent / "harness"  # the console script a user runs


@pytest.fixture(scope="module")
def trivial_migrations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 one-table migrations squawk finds nothing in (so no warning is printed)."""
    directory = tmp_path_factory.mktemp("trivial-migrations")
    for n in range(1, MIGRATIONS + 1):
        (directory / f"{n:04d}_table_{n}.up.sql").write_text(f"CREATE TABLE table_{n} (id bigint);\n")
        (directory / f"{n:04d}_table_{n}.down.sql").write_text(f"DROP TABLE table_{n};\n")
    return directory


@pytest.fixture
def empty_database(loop: asyncio.AbstractEventLoop, harness_run: RunState) -> Iterator[Callable[[], str]]:
    """Makes an empty database and returns its DSN; every one made is dropped at the end."""
    made: list[str] = []

    async def create(name: str) -> None:
        conn = await asyncpg.connect(harness_run.endpoints.postgres)
        try:
            await create_database(conn, name)
        finally:
            await conn.close()

    def make() -> str:
        name = f"hx_migbench_{secrets.token_hex(4)}"
        made.append(name)
        loop.run_until_complete(create(name))
        return harness_run.endpoints.postgres_dsn(name)

    yield make

    async def drop_all() -> None:
        conn = await asyncpg.connect(harness_run.endpoints.postgres)
        try:
            for name in made:
                await drop_database(conn, name)
        finally:
            await conn.close()

    loop.run_until_complete(drop_all())


def time_rounds(
    benchmark: BenchmarkFixture, role: str, target: Callable[[str], Any], database: Callable[[], str]
) -> None:
    benchmark.extra_info.update(role=role, ops_per_round=MIGRATIONS)
    benchmark.pedantic(target, setup=lambda: ((database(),), {}), rounds=ROUNDS, warmup_rounds=1)


def command_environment() -> dict[str, str]:
    """The environment a user's shell gives the command: bytecode cached (the warm-up round writes
    it), as an installed package has it, even where this run's environment says not to write it."""
    environment = {**os.environ, "HARNESS_SQUAWK": "warn"}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def migrate_up_command(dsn: str, directory: Path, applied: int) -> None:
    done = subprocess.run(
        [str(HARNESS), "migrate", "up", "--dsn", dsn, "--dir", str(directory)],
        cwd=ROOT, env=command_environment(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"applied {applied} migration(s)" in done.stdout


@pytest.mark.benchmark(group="migrate-up-500")
def test_harness_migrate_up_command(
    benchmark: BenchmarkFixture, trivial_migrations: Path, empty_database: Callable[[], str]
) -> None:
    time_rounds(
        benchmark, "subject", lambda dsn: migrate_up_command(dsn, trivial_migrations, MIGRATIONS), empty_database
    )


@pytest.mark.benchmark(group="migrate-up-500")
def test_harness_migrate_up_command_with_nothing_pending(
    benchmark: BenchmarkFixture,
    trivial_migrations: Path,
    empty_database: Callable[[], str],
    loop: asyncio.AbstractEventLoop,
) -> None:
    dsn = empty_database()
    loop.run_until_complete(apply_migrations(dsn, trivial_migrations))
    benchmark.extra_info.update(role="reference", ops_per_round=1)
    benchmark.pedantic(lambda: migrate_up_command(dsn, trivial_migrations, 0), rounds=ROUNDS, warmup_rounds=1)


@pytest.mark.benchmark(group="migrate-up-500")
def test_harness_migrate_up_library_call(
    benchmark: BenchmarkFixture,
    trivial_migrations: Path,
    empty_database: Callable[[], str],
    loop: asyncio.AbstractEventLoop,
) -> None:
    findings: list[Finding] = []
    lint = pending_check("warn", findings.append)

    def call(dsn: str) -> None:
        steps = loop.run_until_complete(apply_migrations(dsn, trivial_migrations, lint=lint))
        assert len(steps) == MIGRATIONS
        assert findings == []

    time_rounds(benchmark, "subject", call, empty_database)


@pytest.mark.benchmark(group="migrate-up-500")
def test_psql_applying_the_same_files(
    benchmark: BenchmarkFixture, trivial_migrations: Path, empty_database: Callable[[], str]
) -> None:
    """The baseline: `psql -1 -f` of every up file, in one transaction, nothing recorded."""
    files = [arg for path in sorted(trivial_migrations.glob("*.up.sql")) for arg in ("-f", str(path))]

    def psql(dsn: str) -> None:
        done = subprocess.run(
            [str(pg_bin_dir() / "psql"), "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", *files, dsn],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    time_rounds(benchmark, "baseline", psql, empty_database)
