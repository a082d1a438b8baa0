"""pg_conn as a suite sees it, in a child pytest on this run's servers (the external backend): on
the session's event loop every test gets the worker's one connection in a clean transaction; a test
that commits is warned and the next test finds the worker's database replaced; on event loops of
the tests' own, each test gets a connection of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import Settings
from harness.isolation import RunState
from harness.isolation.handout import LOCK
from harness.provision.locking import exclusive

SUITE = """
import pytest

PIDS = []


async def pid(pg_conn):
    PIDS.append(await pg_conn.fetchval("SELECT pg_backend_pid()"))


async def test_one(pg_conn):
    await pid(pg_conn)
    await pg_conn.execute("CREATE TABLE rolled_back (id int)")


async def test_two(pg_conn):
    await pid(pg_conn)
    assert await pg_conn.fetchval("SELECT to_regclass('rolled_back')") is None


async def test_commits(pg_conn):
    await pid(pg_conn)
    await pg_conn.execute("COMMIT")
    await pg_conn.execute("CREATE TABLE committed (id int)")


async def test_after_the_commit(pg_conn):
    await pid(pg_conn)
    assert await pg_conn.fetchval("SELECT to_regclass('committed')") is None


def test_connections():
    print("PIDS", ",".join(map(str, PIDS)))
"""


def child_pytest(tmp_path: Path, harness_settings: Settings, harness_run: RunState, *args: str) -> str:
    (tmp_path / "test_child.py").write_text(SUITE)
    env = {
        **os.environ,
        **harness_settings.as_environment(),
        "HARNESS_BACKEND": "external",
        "TEST_DATABASE_URL": harness_run.endpoints.postgres,
        "REDIS_URL": harness_run.endpoints.redis,
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", "-s", "-rw", *args,
         str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=harness_settings.hang_timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def pids(output: str) -> list[str]:
    found = re.search(r"PIDS (\S+)", output)
    assert found is not None, output
    return found.group(1).split(",")


@pytest.mark.parametrize("loop", ["session", "function"])
async def test_pg_conn_keeps_one_connection_on_the_session_loop_and_replaces_a_committed_database(
    tmp_path: Path, harness_settings: Settings, harness_run: RunState, loop: str
) -> None:
    # the child sets the roles' logins on the shared server: one at a time, as `harness clone` does
    async with exclusive(harness_settings.state_dir / LOCK, "the template", harness_settings.hang_timeout):
        output = child_pytest(
            tmp_path, harness_settings, harness_run,
            "-o", f"asyncio_default_fixture_loop_scope={loop}", "-o", f"asyncio_default_test_loop_scope={loop}",
        )  # fmt: skip
    one, two, commits, after = pids(output)
    assert "TransactionEndedByTest" in output
    assert "was replaced by a new clone" in output
    if loop == "session":
        assert one == two == commits != after  # kept until the commit, then a new one to the new database
    else:
        assert len({one, two, commits, after}) == 4
