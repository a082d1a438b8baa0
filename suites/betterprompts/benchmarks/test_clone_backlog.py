"""The clone pool stays bounded over a long suite (issue #15, part 1): 5,000 tests, each taking a
fresh database, run back to back as one pytest process with harness's plugin and a sampler
(`peers/sampler.py`) that reads, every half second, the clones of the template on the server, the
bytes under that run's own state directory and the bytes used on /dev/shm.

    pytest -p no:xdist suites/betterprompts/benchmarks/test_clone_backlog.py    (full pass only: ~4 min)

Flat means the peaks over the whole run are the peaks of its first 500 tests: the figures go to
`extra_info`; the clone count is asserted against the pool's own bound. /dev/shm is shared with
whatever else runs on the machine, so its figure is shown, not asserted. Under xdist: 50 tests, untimed.
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
EARLY = 500  # "the first 500 tests", the window the whole run's peaks are held to
SAMPLER = Tool(
    "harness-sampled", HARNESS.conftest, (*HARNESS.plugins, "-p", "suites.betterprompts.benchmarks.peers.sampler")
)
MB = 2**20


@pytest.fixture
def scratch(harness_settings: Settings) -> Iterator[Path]:
    with scratch_directory(harness_settings.state_dir) as path:
        yield path


def test_clone_count_and_memory_stay_flat_over_5000_tests(
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
    early = [s for s in samples if s["finished"] < min(EARLY, tests // 10)] or samples[:1]

    def peaks(over: list[dict[str, int]]) -> dict[str, float]:
        return {
            "clones": max(s["clones"] for s in over),
            "state_mb": round(max(s["state_bytes"] for s in over) / MB, 1),
            "shm_used_mb": round(max(s["shm_used_bytes"] for s in over) / MB, 1),
        }

    first, whole = peaks(early), peaks(samples)
    benchmark.extra_info.update(tests=tests, samples=len(samples), peak_first_500=first, peak_all=whole)
    print(f"\n{tests} tests, {len(samples)} samples: peak over the first {EARLY} {first}, over all {whole}")
    # ready (clone_pool_size) + the test's own + the used ones waiting (USED_BACKLOG, one more before a
    # drop goes first) + the one being created at the moment of the sample
    assert whole["clones"] <= harness_settings.clone_pool_size + USED_BACKLOG + 3
