"""Cold start: from launching pytest to the first test holding a database, beside a bare pytest.

    pytest suites/betterprompts/benchmarks/test_cold_start.py
The timed target is the whole run; `extra_info` holds the launch-to-first-test seconds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.config import Settings
from suites.betterprompts.benchmarks._support import rounds

PROBE_WITH_DATABASE = """
import time
def test_first(pg_conn):
    open({marker!r}, "w").write(repr(time.time()))
"""
PROBE_BARE = """
import time
def test_first():
    open({marker!r}, "w").write(repr(time.time()))
"""


def run_probe(tmp_path: Path, source: str, settings: Settings, args: list[str]) -> float:
    """Seconds from launching pytest to the probe test's first line."""
    marker = tmp_path / "first-test"
    (tmp_path / "test_probe.py").write_text(source.format(marker=str(marker)))
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    environ = {**os.environ, **settings.as_environment()}
    started = time.time()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_probe.py"],
        cwd=tmp_path, env=environ, check=True, capture_output=True,
    )  # fmt: skip
    return float(marker.read_text()) - started


@pytest.mark.parametrize("probe", ["harness", "bare-pytest"])
@pytest.mark.benchmark(group="cold-start")
def test_cold_start_to_first_test(
    benchmark: BenchmarkFixture, harness_settings: Settings, tmp_path: Path, probe: str
) -> None:
    source, args = (PROBE_WITH_DATABASE, []) if probe == "harness" else (PROBE_BARE, ["-p", "no:harness"])
    firsts: list[float] = []
    benchmark.extra_info["role"] = "subject" if probe == "harness" else "baseline"
    benchmark.pedantic(
        lambda: firsts.append(run_probe(tmp_path, source, harness_settings, args)), rounds=rounds(5, 3), warmup_rounds=1
    )
    benchmark.extra_info["backend"] = harness_settings.backend
    benchmark.extra_info["launch_to_first_test_s_median"] = statistics.median(firsts)
