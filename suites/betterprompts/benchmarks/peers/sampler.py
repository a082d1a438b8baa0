"""A pytest plugin for the clone-backlog proof (`-p suites.betterprompts.benchmarks.peers.sampler`):
every PEERS_SAMPLE_SECONDS a thread records how many tests have finished, how many clones of the
run's template the server holds, the bytes allocated under the run's state directory and the bytes
used on /dev/shm; the samples go to PEERS_SAMPLES as JSON when the session ends."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import pytest

from harness.config import Settings
from harness.isolation import RunState

SHM = Path("/dev/shm")


@dataclass(frozen=True)
class Sample:
    finished: int  # tests finished when it was taken
    clones: int
    state_bytes: int
    shm_used_bytes: int


class Progress:
    finished = 0


def pytest_runtest_logfinish() -> None:
    Progress.finished += 1


def allocated_bytes(root: Path) -> int:
    """What `du` counts: blocks allocated to the files under `root` (some vanish as we walk)."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


def shm_used_bytes() -> int:
    stats = os.statvfs(SHM)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


@pytest.fixture(scope="session", autouse=True)
def _sample_the_run(harness_run: RunState, harness_settings: Settings) -> Iterator[None]:
    samples: list[Sample] = []
    stop = threading.Event()
    interval = float(os.environ["PEERS_SAMPLE_SECONDS"])
    pattern = harness_run.template.replace("_", r"\_") + r"\_%"

    def sample() -> None:
        with psycopg.connect(harness_run.endpoints.postgres, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s", [pattern]).fetchone()
                clones = int(row[0]) if row else 0
                samples.append(Sample(Progress.finished, clones, allocated_bytes(harness_settings.state_dir),
                                      shm_used_bytes()))  # fmt: skip
                stop.wait(interval)

    thread = threading.Thread(target=sample, name="backlog-sampler", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(harness_settings.hang_timeout)
    Path(os.environ["PEERS_SAMPLES"]).write_text(json.dumps([asdict(s) for s in samples]))
