"""What `pg_conn` costs a test through pytest and pytest-asyncio (issue #15, part 3), not only at the
fixture level (`test_isolation.py`, groups `pg-conn begin_rollback` and `pg-conn connection_per_test`):
the fixture's own scheduling on the event loop counts too.

    pytest -p no:xdist suites/betterprompts/benchmarks/test_pg_conn_through_pytest.py

Two generated files of 200 async tests run as pytest processes of their own against one
`harness up --detach` (the external backend, so no run starts servers or builds a template): each
test runs `SELECT 1` on `pg_conn` (subject), or on a session-scoped connection with no per-test
fixture (baseline). Both files start with a test taking `pg_conn`, so both pay for the worker's
connection once. Runs alternate A B, B A; per-test cost, the median pair's (wall_A - wall_B) / 200,
goes to `extra_info`, and the same from the spans of their test loops (start-up and exit left out,
the noisiest part of a wall on a busy machine). Under xdist: one pair of 3-test runs, untimed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.config import Settings
from suites.betterprompts.benchmarks._support import Side, measure_pair, rounds
from suites.betterprompts.benchmarks.peers.runs import scratch_directory
from suites.engine.cli.commands import harness
from suites.engine.provision.remains import purge

TESTS = 200
PAIRS = rounds(15, 3)
INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""
CONFTEST = """
import os
import time

import asyncpg
import pytest
import pytest_asyncio


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        with open(os.environ["BENCH_SPAN_FILE"], "w") as span:
            span.write(repr(time.perf_counter() - start))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def session_conn(worker_database):
    conn = await asyncpg.connect(worker_database.dsn)
    yield conn
    await conn.close()
"""
SUITE = """
import pytest


async def test_first(pg_conn, session_conn):
    assert await pg_conn.fetchval("SELECT 1") == 1


@pytest.mark.parametrize("n", range({tests}))
async def test_select(n, {fixture}):
    assert await {fixture}.fetchval("SELECT 1") == 1
"""


@pytest.fixture(scope="module")
def up_environment(harness_settings: Settings) -> Iterator[dict[str, str]]:
    """The child runs' environment: the external backend on a `harness up --detach` of their own."""
    if harness_settings.backend == "external":
        pytest.skip("`harness up` starts servers; the external backend has none to start")
    with scratch_directory(harness_settings.state_dir) as scratch:
        env = {**harness_settings.as_environment(), "HARNESS_STATE_DIR": str(scratch / "state"), "HARNESS_UP_SEED": ""}
        try:
            up = harness("up", "--detach", env=env)
            assert up.returncode == 0, up.stderr
            urls = harness("env", "--format", "json", env=env)
            assert urls.returncode == 0, urls.stderr
            found = json.loads(urls.stdout)
            yield {**os.environ, **env, "HARNESS_BACKEND": "external",
                   "TEST_DATABASE_URL": found["DATABASE_URL"], "REDIS_URL": found["REDIS_URL"]}  # fmt: skip
            assert harness("down", env=env).returncode == 0
        finally:
            purge(scratch / "state")


def suite(directory: Path, fixture: str, tests: int) -> Path:
    directory.mkdir()
    (directory / "pytest.ini").write_text(INI)
    (directory / "conftest.py").write_text(CONFTEST)
    (directory / "test_select.py").write_text(SUITE.format(tests=tests, fixture=fixture))
    return directory


class Run:
    """Pytest processes over one generated suite, without xdist: each fails with its output, and
    records the span of its test loop (the wall without start-up and exit, whose noise it escapes)."""

    def __init__(self, directory: Path, environment: dict[str, str], tests: int, timeout: float) -> None:
        self.directory, self.tests, self.timeout = directory, tests, timeout
        self.environment = {**environment, "BENCH_SPAN_FILE": str(directory / "span")}
        self.spans: list[float] = []

    def __call__(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "."],
            cwd=self.directory, env=self.environment, capture_output=True, text=True, timeout=self.timeout,
        )  # fmt: skip
        if done.returncode != 0 or f"{self.tests + 1} passed" not in done.stdout:
            output = (done.stdout + done.stderr)[-3000:]
            raise AssertionError(f"{self.directory.name} failed, exit {done.returncode}:\n{output}")
        self.spans.append(float((self.directory / "span").read_text()))


def per_test_ms(subject: list[float], baseline: list[float], tests: int) -> float:
    """The median pair's (subject - baseline) / tests, in milliseconds."""
    return statistics.median(a - b for a, b in zip(subject, baseline, strict=True)) / tests * 1000


@pytest.mark.benchmark(group="pg-conn-through-pytest")
def test_pg_conn_per_test_through_pytest(
    benchmark: BenchmarkFixture, up_environment: dict[str, str], tmp_path: Path, hang_timeout: float
) -> None:
    tests = 3 if benchmark.disabled else TESTS
    timeout = hang_timeout * (tests + 2)  # a backstop: each test has its own guard
    subject = Run(suite(tmp_path / "pg_conn", "pg_conn", tests), up_environment, tests, timeout)
    baseline = Run(suite(tmp_path / "no_db_fixture", "session_conn", tests), up_environment, tests, timeout)
    measure_pair(
        benchmark,
        Side("pg_conn_through_pytest[pg_conn]", tests, subject),
        Side("pg_conn_through_pytest[no_db_fixture]", tests, baseline),
        pairs=1 if benchmark.disabled else PAIRS,
    )
    paired = benchmark.extra_info["paired"]
    walls = paired["subject"]["rounds"], paired["baseline"]["rounds"]
    spans = subject.spans[-len(walls[0]) :], baseline.spans[-len(walls[1]) :]  # the warm-up pair left out
    benchmark.extra_info.update(
        tests=tests, per_test_ms_wall=per_test_ms(*walls, tests), per_test_ms_test_loop=per_test_ms(*spans, tests),
        wall_ratio=statistics.median(a / b for a, b in zip(*walls, strict=True)), test_loop_spans_s=spans,
    )  # fmt: skip
    print(
        f"\npg_conn through pytest, per test: {benchmark.extra_info['per_test_ms_wall']:.2f} ms by the walls, "
        f"{benchmark.extra_info['per_test_ms_test_loop']:.2f} ms by the test loops "
        f"(medians of {len(walls[0])} pairs of {tests}-test runs)"
    )
