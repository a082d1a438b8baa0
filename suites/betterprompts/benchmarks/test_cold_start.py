"""Cold start: a whole one-test run, launched as a user launches it, beside a bare pytest run
launched the same way in the same moment (rounds alternate).

    pytest -p no:xdist suites/betterprompts/benchmarks/test_cold_start.py
Scenarios: the embedded backend in one process and under `-n 2` (each beside a bare pytest with
the same arguments), the embedded backend without its initdb cache (what every run paid before
it) and without its template snapshot, and the docker backend (skipped unless the run's images
are present). An embedded scenario with template snapshots has an initdb cache of its own (the
warm-up round saves its snapshot), never the user's. The timed round is the whole run, teardown
included; `extra_info` holds each side's median seconds from launch to the first test's first
line. `test_cold_start_seeded`: a run that finds its seeded template's snapshot against the first
run, which builds it. `test_cold_start_under_xdist_against_one_process`: `-n 2` against one process.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.config import Settings
from harness.provision.snapshot_cache import clear, entries, snapshot_root
from suites.betterprompts.benchmarks._support import QUICK, Side, measure_pair, rounds

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
PROBE_SEEDED = """
import time
async def test_first(pg_conn):
    open({marker!r}, "w").write(repr(time.time()))
    assert await pg_conn.fetchval("SELECT count(*) FROM auth.users") > 0
"""
# scenario: (benchmark group, the subject's name (the baseline's key), pytest arguments, settings changed)
SCENARIOS: dict[str, tuple[str, str, list[str], dict[str, Any]]] = {
    "embedded": ("cold-start", "harness", [], {"template_snapshots": True}),
    "embedded-n2": ("cold-start-n2", "harness-n2", ["-n", "2"], {}),
    "embedded-no-initdb-cache": ("cold-start-initdb", "harness-no-initdb-cache", [], {"initdb_cache": None}),
    "embedded-no-snapshot": ("cold-start-snapshot", "harness-no-snapshot", [], {"template_snapshots": False}),
    "docker": ("cold-start-docker", "harness-docker", [], {"backend": "docker"}),
    "docker-no-snapshot": (
        "cold-start-docker-snapshot",
        "harness-docker-no-snapshot",
        [],
        {"backend": "docker", "template_snapshots": False},
    ),
    "docker-no-initdb-cache": (
        "cold-start-docker-initdb",
        "harness-docker-no-initdb-cache",
        [],
        {"backend": "docker", "initdb_cache": None},
    ),
}


def run_probe(directory: Path, source: str, settings: Settings, args: list[str]) -> float:
    """Seconds from launching pytest to the probe test's first line."""
    directory.mkdir(exist_ok=True)
    marker = directory / "first-test"
    (directory / "test_probe.py").write_text(source.format(marker=str(marker)))
    (directory / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    environ = {**os.environ, **settings.as_environment()}
    environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user starts: cached bytecode (and assertion rewrites)
    started = time.time()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_probe.py"],
        cwd=directory, env=environ, check=True, capture_output=True, timeout=settings.hang_timeout,
    )  # fmt: skip
    return float(marker.read_text()) - started


def docker_images_present(settings: Settings) -> str | None:
    """Why the docker scenario cannot run, or None."""
    from harness.errors import ProvisionError
    from harness.provision.containers import docker_client

    try:
        client = docker_client()
    except ProvisionError as exc:
        return str(exc)
    for image in (settings.pg_image, settings.redis_image):
        if not client.images.list(name=image):
            return f"image {image} is not present (`harness images build`, then --pg-image/--redis-image)"
    return None


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.benchmark(group="cold-start")
def test_cold_start_to_first_test(
    benchmark: BenchmarkFixture,
    harness_settings: Settings,
    tmp_path: Path,
    scenario: str,
    request: pytest.FixtureRequest,
) -> None:
    group, subject_name, args, changes = SCENARIOS[scenario]
    settings = harness_settings.model_copy(update={"reuse": False, "keep": False, **changes})
    if settings.backend == "docker" and (why := docker_images_present(settings)) is not None:
        pytest.skip(why)
    snapshots = settings.backend != "docker" and settings.template_snapshots and settings.initdb_cache is not None
    if snapshots:  # the warm-up saves its snapshot
        private = harness_settings.state_dir.parent / f"harness-bench-initdb-{os.getpid()}-{scenario}"
        settings = settings.model_copy(update={"initdb_cache": private})
        request.addfinalizer(lambda: remove_caches(private))
    benchmark.group = group
    pairs = rounds(5, 3)
    firsts: dict[str, list[float]] = {"subject": [], "baseline": []}

    def side(role: str, source: str, pytest_args: list[str]) -> None:
        firsts[role].append(run_probe(tmp_path / role, source, settings, pytest_args))

    measure_pair(
        benchmark,
        Side(f"test_cold_start_to_first_test[{subject_name}]", 1, lambda: side("subject", PROBE_WITH_DATABASE, args)),
        Side(
            f"test_cold_start_to_first_test[bare-pytest{'-n2' if args else ''}]",
            1,
            lambda: side("baseline", PROBE_BARE, ["-p", "no:harness", *args]),
        ),
        pairs=pairs,
    )
    benchmark.extra_info["backend"] = settings.backend
    for role, seconds in firsts.items():
        benchmark.extra_info[f"{role}_launch_to_first_test_s_median"] = statistics.median(
            seconds[-pairs:]
        )  # not the warm-up's


@pytest.mark.benchmark(group="cold-start-n2-single")
def test_cold_start_under_xdist_against_one_process(
    benchmark: BenchmarkFixture, harness_settings: Settings, tmp_path: Path
) -> None:
    """#15's `-n 2` target, measured directly: a one-test run under `-n 2` (the subject) against the
    same run in one process (the baseline), with the same settings, rounds alternating."""
    settings = harness_settings.model_copy(update={"reuse": False, "keep": False})
    pairs = rounds(9, 7)
    firsts: dict[str, list[float]] = {"subject": [], "baseline": []}

    def side(role: str, args: list[str]) -> None:
        firsts[role].append(run_probe(tmp_path / role, PROBE_WITH_DATABASE, settings, args))

    measure_pair(
        benchmark,
        Side("test_cold_start_under_xdist_against_one_process[harness-n2]", 1, lambda: side("subject", ["-n", "2"])),
        Side(
            "test_cold_start_under_xdist_against_one_process[harness]", 1, lambda: side("baseline", ["-p", "no:xdist"])
        ),
        pairs=pairs,
    )
    benchmark.extra_info["backend"] = settings.backend
    for role, seconds in firsts.items():
        benchmark.extra_info[f"{role}_launch_to_first_test_s_median"] = statistics.median(seconds[-pairs:])


@pytest.mark.timeout(3600)  # two `load` builds (the prime and the first-run side); each run has its own guard
@pytest.mark.benchmark(group="cold-start-seeded")
def test_cold_start_seeded(
    benchmark: BenchmarkFixture, harness_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Launch to the first test holding a seeded database (`load`; `minimal` in quick mode): a run
    whose recipe's template snapshot is there (the subject) against the first run, which builds the
    template and saves the snapshot (the baseline; the snapshot is removed before it). Each run with
    an initdb cache and snapshots of the benchmark's own, on the state directory's filesystem."""
    if harness_settings.backend != "embedded":
        pytest.skip("template snapshots are the embedded backend's")
    profile = "minimal" if QUICK or benchmark.disabled else "load"  # untimed (xdist): a smoke test
    cache = harness_settings.state_dir.parent / f"harness-bench-initdb-{os.getpid()}"
    settings = harness_settings.model_copy(
        update={
            "reuse": False,
            "keep": False,
            "template_seed": profile,
            "initdb_cache": cache,
            "template_snapshots": True,
            "template_snapshot_min_build": 0.0,
            # the first run's `load` build: 80-150 s here, several times that on a busy machine
            "hang_timeout": max(harness_settings.hang_timeout, 1800.0 if profile == "load" else 0.0),
        }
    )
    monkeypatch.setenv("HARNESS_BCRYPT_COST", "4")  # the seed's hashes at the tests' cost
    snapshots = snapshot_root(cache)
    firsts: dict[str, list[float]] = {"subject": [], "baseline": []}

    def side(role: str) -> None:
        if role == "baseline":
            clear(snapshots)
        firsts[role].append(run_probe(tmp_path / role, PROBE_SEEDED, settings, []))

    try:
        side("baseline")  # the snapshot the first subject round starts from (a `load` build: minutes)
        pairs = rounds(1, 3)
        measure_pair(
            benchmark,
            Side("test_cold_start_seeded[second-run]", 1, lambda: side("subject")),
            Side("test_cold_start_seeded[first-run]", 1, lambda: side("baseline")),
            pairs=pairs,
            warmup_pairs=0,
        )
        benchmark.extra_info["profile"] = profile
        benchmark.extra_info["snapshot_mb"] = round(sum(e.size for e in entries(snapshots)) / 1e6, 1)
        for role, seconds in firsts.items():
            benchmark.extra_info[f"{role}_launch_to_first_test_s_median"] = statistics.median(seconds[-pairs:])
    finally:
        remove_caches(cache)


def remove_caches(initdb_cache: Path) -> None:
    """An initdb cache of the benchmark's own and its template snapshots."""
    shutil.rmtree(initdb_cache, ignore_errors=True)
    clear(snapshot_root(initdb_cache))
    shutil.rmtree(snapshot_root(initdb_cache), ignore_errors=True)


@pytest.mark.timeout(3600)  # the priming run's `load` build; each run has its own guard
@pytest.mark.benchmark(group="cold-start-seeded-reuse")
def test_cold_start_seeded_reuse(
    benchmark: BenchmarkFixture, harness_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Launch to the first test holding a seeded database (`load`; `minimal` in quick mode) on a
    `--reuse` server that has the template: a run that takes a spare the run before left (the
    subject) against one with `reuse_spare_clones = 0`, which clones the template first, as every
    reused run did before spares (the baseline). One reused server for both, of a state directory
    of the benchmark's own; an untimed priming run builds the template and leaves the first spares."""
    if harness_settings.backend != "embedded":
        pytest.skip("the embedded backend's reused server")
    from harness.provision.gc import collect_garbage

    profile = "minimal" if QUICK or benchmark.disabled else "load"  # untimed (xdist): a smoke test
    state = harness_settings.state_dir.parent / f"harness-bench-reuse-{os.getpid()}"
    settings = harness_settings.model_copy(
        update={
            "reuse": True,
            "keep": False,
            "state_dir": state,
            "template_seed": profile,
            "template_snapshots": False,  # a reused server keeps its template: no snapshot to save
            "hang_timeout": max(harness_settings.hang_timeout, 1800.0 if profile == "load" else 0.0),
        }
    )
    monkeypatch.setenv("HARNESS_BCRYPT_COST", "4")  # the seed's hashes at the tests' cost
    firsts: dict[str, list[float]] = {"subject": [], "baseline": []}

    def side(role: str) -> None:
        spares = settings.reuse_spare_clones if role == "subject" else 0
        run = settings.model_copy(update={"reuse_spare_clones": spares})
        firsts[role].append(run_probe(tmp_path / "run", PROBE_SEEDED, run, []))

    try:
        side("subject")  # builds the template (`load`: minutes) and leaves the spares of the first round
        pairs = rounds(3, 3)
        measure_pair(
            benchmark,
            Side("test_cold_start_seeded_reuse[spares]", 1, lambda: side("subject")),
            Side("test_cold_start_seeded_reuse[no-spares]", 1, lambda: side("baseline")),
            pairs=pairs,
            warmup_pairs=0,
        )
        benchmark.extra_info["profile"] = profile
        for role, seconds in firsts.items():
            benchmark.extra_info[f"{role}_launch_to_first_test_s_median"] = statistics.median(seconds[-pairs:])
            benchmark.extra_info[f"{role}_launch_to_first_test_s"] = [round(s, 3) for s in seconds[-pairs:]]
    finally:
        for project in {str(settings.project_root), str((tmp_path / "run").resolve())}:  # the runs' project
            collect_garbage(state, project, everything=True)  # the reused server, its owner gone
        shutil.rmtree(state, ignore_errors=True)
