"""The clone pool stays bounded over a long suite (issue #15, part 1): 5,000 tests, each taking a
fresh database, run back to back as one pytest process with harness's plugin and a sampler
(`peers/sampler.py`) that reads, every half second, the clones of the template on the server, the
bytes under that run's own state directory and the bytes used on /dev/shm.

    pytest -p no:xdist -s suites/betterprompts/benchmarks/test_clone_backlog.py    (full pass only: ~4 min)

Flat means the peaks of every 500 tests are those of the first 500: each window's peaks go to
`extra_info` (and, with -s, to the terminal); the clone count is asserted against the pool's own
bound. Bytes are shown, not asserted: /dev/shm is shared with whatever else runs on the machine, and
the server's own files (its shared catalogs, its log) move for reasons of their own. Under xdist:
50 tests, untimed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.config import Settings
from harness.isolation.clones import USED_BACKLOG
from suites.betterprompts.benchmarks._support import QUICK
from suites.betterprompts.benchmarks.peers.runs import HARNESS, Runner, Tool, scratch_directory

pytestmark = [
    pytest.mark.skipif(
        QUICK, reason="5,000 tests take ~4 min: the full pass (make bench) runs them, not the quick one"
    ),
    pytest.mark.timeout(3600),  # the run inside has its own hang guard, from Settings.hang_timeout
]
TESTS = 5000
SAMPLER = Tool(
    "harness-sampled", HARNESS.conftest, (*HARNESS.plugins, "-p", "suites.betterprompts.benchmarks.peers.sampler")
)
MB = 2**20


def peaks(samples: list[dict[str, int]]) -> dict[str, float]:
    return {
        "clones": max(s["clones"] for s in samples),
        "state_mb": round(max(s["state_bytes"] for s in samples) / MB, 1),
        "shm_used_mb": round(max(s["shm_used_bytes"] for s in samples) / MB, 1),
    }


@pytest.fixture
def scratch(harness_settings: Settings) -> Iterator[Path]:
    with scratch_directory(harness_settings.state_dir) as path:
        yield path


def test_5000_tests_keep_the_clone_count_within_the_pools_bound(
    benchmark: BenchmarkFixture, harness_settings: Settings, hang_timeout: float, scratch: Path
) -> None:
    tests = 50 if benchmark.disabled else TESTS
    state_dir, samples_file = scratch / "state", scratch / "samples.json"
    runner = Runner(scratch, harness_settings.as_environment(), harness_settings.migrations_dir, hang_timeout)
    environment = {
        "HARNESS_STATE_DIR": str(state_dir),
        "PEERS_SAMPLES": str(samples_file),
        "PEERS_SAMPLE_SECONDS": "0.5",
    }
    benchmark.extra_info["role"] = "reference"
    benchmark.extra_info["ops_per_round"] = tests
    benchmark.pedantic(lambda: runner.run(SAMPLER, "write", tests, environment), rounds=1)

    samples = json.loads(samples_file.read_text())
    window = max(tests // 10, 1)  # 500 of 5,000
    windows = [[s for s in samples if n <= s["finished"] < n + window] for n in range(0, tests, window)]
    first, whole = peaks(windows[0] or samples[:1]), peaks(samples)
    benchmark.extra_info.update(
        tests=tests, samples=len(samples), peak_first_500=first, peak_all=whole,
        peak_by_500=[peaks(w) for w in windows if w],
    )  # fmt: skip
    print(f"\n{tests} tests, {len(samples)} samples: peak over the first {window} {first}, over all {whole}")
    for n, found in enumerate(windows):
        print(f"  tests {n * window}-{(n + 1) * window - 1}: {peaks(found) if found else 'no sample'}")
    # ready (clone_pool_size) + the test's own + the used ones waiting (USED_BACKLOG, one more before a
    # drop goes first) + the one being created at the moment of the sample
    assert whole["clones"] <= harness_settings.clone_pool_size + USED_BACKLOG + 3
