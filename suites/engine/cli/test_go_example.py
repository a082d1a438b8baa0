"""examples/go passes: a Go suite gets a clone of the template per test from `harness clone`, as
the pytest plugin's tests get theirs. A real `harness up`, a real `go test`, nothing mocked."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from harness.isolation.handout import HANDED_OUT
from suites.engine.cli.commands import ROOT, harness

EXAMPLE = ROOT / "examples" / "go"
# Offline: lib/pq comes from Debian's golang-github-lib-pq-dev through go.mod's replace.
GO_OFFLINE = {"GOPROXY": "off", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}


async def test_the_go_example_gets_a_clone_per_test_and_drops_them(up_env: dict[str, str]) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.fail(
            "go is not installed: run scripts/bootstrap.sh (it installs golang-go and golang-github-lib-pq-dev)"
        )
    env = {
        **os.environ, **up_env, **GO_OFFLINE,
        "HARNESS": str(Path(sys.executable).with_name("harness")), "HARNESS_PROJECT_DIR": str(ROOT),
    }  # fmt: skip
    result = await asyncio.to_thread(
        subprocess.run,
        [go, "test", "-count=1", "-v", "./..."],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for test in ("ACloneHoldsTheMigratedSchema", "ARowWrittenInOneCloneIsNotSeenInAnother", "ADroppedCloneIsGone"):
        assert f"--- PASS: Test{test}" in result.stdout, result.stdout
    urls = json.loads(harness("env", "--format", "json", env=up_env).stdout)
    conn = await asyncpg.connect(urls["DATABASE_URL"])
    try:
        left = await conn.fetch("SELECT datname FROM pg_database WHERE datname ~ $1", HANDED_OUT.pattern)
    finally:
        await conn.close()
    assert left == [], "the Go tests' clones were not dropped"
