"""How fast a test gets a database of its own, beside the baselines it improves on.

Run as their own invocation (pytest-benchmark does not time under xdist):
    pytest suites/betterprompts/benchmarks/test_isolation.py
Under `pytest -n auto` these run once, untimed, as smoke tests.
"""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.isolation import ClonePool, RunState
from suites.betterprompts.benchmarks._support import rounds

ROUNDS = rounds(40, 16)


@pytest.mark.benchmark(group="fresh-database")
def test_fresh_database_from_the_ready_pool(benchmark: BenchmarkFixture, clone_pool: ClonePool) -> None:
    """What `fresh_database` costs a test when the pool keeps up (each round starts from a full pool)."""
    taken: list[str] = []
    benchmark.extra_info["role"] = "subject"
    benchmark.pedantic(lambda: taken.append(clone_pool.take()), setup=clone_pool.wait_until_full, rounds=ROUNDS)
    for name in taken:
        clone_pool.release(name)


@pytest.mark.benchmark(group="fresh-database")
def test_fresh_database_when_tests_outrun_the_pool(benchmark: BenchmarkFixture, clone_pool: ClonePool) -> None:
    """Back-to-back takes with no test time between them: the pool drains to the clone rate."""
    taken: list[str] = []
    benchmark.extra_info["role"] = "subject"
    benchmark.pedantic(lambda: taken.append(clone_pool.take()), rounds=ROUNDS)
    for name in taken:
        clone_pool.release(name)


@pytest.mark.parametrize("strategy", ["FILE_COPY", "WAL_LOG"])
@pytest.mark.benchmark(group="fresh-database")
def test_baseline_clone_on_demand(
    benchmark: BenchmarkFixture, harness_run: RunState, loop: asyncio.AbstractEventLoop, strategy: str
) -> None:
    """The baseline: CREATE DATABASE … TEMPLATE at the moment the test asks for it (FILE_COPY, the
    faster of the two here; WAL_LOG, PostgreSQL's default, is shown for reference)."""
    benchmark.extra_info["role"] = "baseline" if strategy == "FILE_COPY" else "reference"
    admin = loop.run_until_complete(asyncpg.connect(harness_run.endpoints.postgres))
    names: list[str] = []

    def clone() -> None:
        name = f"{harness_run.template}_bench_{secrets.token_hex(3)}"
        names.append(name)
        loop.run_until_complete(
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{harness_run.template}" STRATEGY {strategy}')
        )

    def drop() -> None:
        loop.run_until_complete(admin.execute(f'DROP DATABASE "{names[-1]}"'))

    try:
        benchmark.pedantic(clone, teardown=drop, rounds=ROUNDS // 2)
    finally:
        loop.run_until_complete(admin.close())
