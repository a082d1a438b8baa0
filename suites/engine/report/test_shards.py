"""Sharding as CI does it: a selection run whole and as 2 shards (`--harness-shard I/N`, each a
child pytest with servers and a state directory of its own, both at once), the shards' JUnit files
merged by `harness report` into one page that holds the same tests with the same outcomes."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import Settings
from harness.report import build_report
from harness.report.junit import load_junit
from suites.engine.provision.remains import purge

ROOT = Path(__file__).resolve().parents[3]
SELECTION = [
    f"suites/engine/isolation/{name}.py" for name in ("test_fixtures", "test_recipe", "test_worker_connection")
]  # 20 quick tests: enough for both shards to hold several, each from more than one file
SHARDS = 2


@pytest.fixture
def state_dirs(harness_settings: Settings) -> Iterator[list[Path]]:
    """One state directory per child run (the whole run and each shard), purged afterwards."""
    if harness_settings.backend == "external":
        pytest.skip("the child runs start servers of their own")
    dirs = [harness_settings.state_dir.parent / f"harness-shard-{secrets.token_hex(4)}" for _ in range(SHARDS + 1)]
    yield dirs
    for state_dir in dirs:
        purge(state_dir)


def child_pytest(run_dir: Path, state_dir: Path, settings: Settings, *args: str) -> subprocess.Popen[str]:
    """The selection in a pytest of its own (one xdist worker, as a CI shard on a small machine)."""
    outer = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HARNESS_"))}
    env = {**outer, **settings.as_environment(), "HARNESS_STATE_DIR": str(state_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "1",
         f"--junitxml={run_dir / 'junit.xml'}", *args, *SELECTION],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def finish(child: subprocess.Popen[str]) -> None:
    output, _ = child.communicate()
    assert child.returncode == 0, output


def test_two_shards_merged_by_harness_report_hold_the_tests_and_outcomes_of_the_whole_run(
    tmp_path: Path, state_dirs: list[Path], harness_settings: Settings
) -> None:
    whole, *shards = (tmp_path / name for name in ("whole", *(f"shard-{i}" for i in range(1, SHARDS + 1))))
    finish(child_pytest(whole, state_dirs[0], harness_settings))
    children = [
        child_pytest(shard, state_dir, harness_settings, f"--harness-shard={i}/{SHARDS}")
        for i, (shard, state_dir) in enumerate(zip(shards, state_dirs[1:], strict=True), start=1)
    ]
    for child in children:
        finish(child)

    expected = load_junit(whole / "junit.xml").outcomes
    parts = [load_junit(shard / "junit.xml").outcomes for shard in shards]
    assert all(parts), "a shard ran no test"
    assert not set(parts[0]) & set(parts[1]), "a test ran in both shards"
    assert parts[0] | parts[1] == expected

    merged_dir = tmp_path / "merged"
    result = subprocess.run(
        [sys.executable, "-m", "harness", "report", *map(str, shards), "--out", str(merged_dir)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (merged_dir / "index.html").is_file()
    [merged] = build_report(merged_dir, sources=shards).suites
    [unsharded] = build_report(whole).suites
    assert merged.outcomes == unsharded.outcomes
    counts = ("tests", "passed", "failed", "errors", "skipped")
    assert {c: getattr(merged, c) for c in counts} == {c: getattr(unsharded, c) for c in counts}
    assert f"{SHARDS} shards merged" in (merged_dir / "index.html").read_text()
