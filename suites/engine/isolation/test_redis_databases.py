"""Sessions that share servers each get a Redis logical database of their own: two pytest runs
reusing one project's servers (every run without xdist used to be "worker 0", database 1, and
each flushed the other's keys before every test)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import Settings
from harness.errors import ProvisionError
from harness.isolation.redis_databases import claimed_database
from harness.provision.gc import collect_garbage
from suites.engine.provision.remains import purge

HOLDS = """
import os, pathlib, time
from urllib.parse import urlsplit

def test_holds_its_database(redis_database, endpoints):
    claims = pathlib.Path(os.environ["CLAIMS"])
    (claims / str(os.getpid())).write_text(f"{urlsplit(endpoints.redis).port} {redis_database}")
    deadline = time.monotonic() + float(os.environ["HARNESS_HANG_TIMEOUT"])
    while len(list(claims.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # both sessions hold theirs at once
    assert len(list(claims.iterdir())) == 2
"""


@pytest.fixture
def shared_state(harness_settings: Settings) -> Iterator[dict[str, str]]:
    """Settings for child runs that reuse one environment, in a state directory of their own."""
    if harness_settings.backend == "external":
        pytest.skip("the child runs start servers of their own")
    state_dir = harness_settings.state_dir.parent / f"harness-redisdb-{secrets.token_hex(4)}"
    yield {
        **os.environ,
        **harness_settings.as_environment(),
        "HARNESS_STATE_DIR": str(state_dir),
        "HARNESS_REUSE": "true",
    }
    purge(state_dir)


def test_two_runs_reusing_one_server_hold_different_databases(
    tmp_path: Path, shared_state: dict[str, str], hang_timeout: float
) -> None:
    claims = tmp_path / "claims"
    claims.mkdir()
    (tmp_path / "test_child.py").write_text(HOLDS)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_child.py")],
            cwd=tmp_path,
            env={**shared_state, "CLAIMS": str(claims)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=4 * hang_timeout)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    held = [claim.read_text().split() for claim in claims.iterdir()]
    assert held[0][0] == held[1][0]  # one server, reused by both
    assert held[0][1] != held[1][1]


def test_a_database_is_free_again_once_its_holder_lets_go_and_none_left_is_one_line(tmp_path: Path) -> None:
    url = "redis://127.0.0.1:6390/0"
    with claimed_database(tmp_path, url, 0, count=3) as first, claimed_database(tmp_path, url, 0, count=3) as second:
        assert {first, second} == {1, 2}
        held = r"every Redis logical database 1-2 of .* is held by another session"
        with pytest.raises(ProvisionError, match=held), claimed_database(tmp_path, url, 0, count=3):
            pass
    with claimed_database(tmp_path, url, 0, count=3) as again:
        assert again == 1
    assert list(tmp_path.iterdir()) == []  # each holder removed its lock file


def test_gc_removes_the_lock_file_a_killed_holder_left_and_keeps_a_held_one(tmp_path: Path) -> None:
    held, left = tmp_path / "redis-x-db1.lock", tmp_path / "redis-x-db2.lock"
    left.touch()  # what a SIGKILLed session leaves: the file, no lock
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
         " fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()", str(held)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        done = collect_garbage(tmp_path, str(tmp_path))  # lock files belong to no project
        assert done.removed == [f"lock file {left}"]
        assert held.exists()
        assert not left.exists()
    finally:
        holder.kill()
        holder.wait()
