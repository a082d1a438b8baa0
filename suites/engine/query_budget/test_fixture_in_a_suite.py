"""The `query_budget` fixture as a suite uses it, in a child pytest on this run's servers (the
external backend): a test over budget fails with the one message, a test within budget passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.config import Settings
from harness.isolation import RunState
from harness.isolation.handout import LOCK
from harness.provision.locking import exclusive

SUITE = """
async def make_table(pg_conn):
    await pg_conn.execute("CREATE TABLE items (id int PRIMARY KEY, owner int)")
    await pg_conn.execute("INSERT INTO items SELECT i, i % 10 FROM generate_series(1, 1200) i")
    await pg_conn.execute("SET LOCAL enable_seqscan = off")


async def test_over_budget(pg_conn, query_budget):
    await make_table(pg_conn)
    async with query_budget(statements=3, rows_read=500):
        for key in (1, 2, 3):
            await pg_conn.fetchrow("SELECT * FROM items WHERE id = $1", key)
        await pg_conn.execute("SET LOCAL enable_seqscan = on")
        await pg_conn.fetch("SELECT * FROM items WHERE owner = 7")


async def test_within_budget(pg_conn, query_budget):
    await make_table(pg_conn)
    async with query_budget(statements=1, rows_read=1):
        await pg_conn.fetchrow("SELECT * FROM items WHERE id = 9")
"""


def child_pytest(directory: Path, settings: Settings, run: RunState) -> str:
    """The generated suite's pytest output, run on this run's servers as an external backend."""
    env = {
        **os.environ, **settings.as_environment(), "HARNESS_BACKEND": "external",
        "TEST_DATABASE_URL": run.endpoints.postgres, "REDIS_URL": run.endpoints.redis,
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", "-q", str(directory)],
        cwd=directory, env=env, capture_output=True, text=True, check=False, timeout=settings.hang_timeout,
    )  # fmt: skip
    return result.stdout + result.stderr


async def test_a_test_over_budget_fails_with_one_message_naming_statements_and_tables(
    tmp_path: Path, harness_settings: Settings, harness_run: RunState
) -> None:
    (tmp_path / "test_child.py").write_text(SUITE)
    # the child sets the roles' logins on the shared server: one at a time, as `harness clone` does
    async with exclusive(harness_settings.state_dir / LOCK, "the template", harness_settings.hang_timeout):
        output = child_pytest(tmp_path, harness_settings, harness_run)
    assert "1 failed, 1 passed" in output, output
    assert (
        "QueryBudgetExceeded: query budget exceeded: 5 statements > budget 3; "
        "rows read 1,203 > 500 (public.items: 1,200 seq in 1 scan, 3 by index in 3 scans)\n"
    ) in output, output
    assert (
        "statements: 3x SELECT * FROM items WHERE id = $1; 1x SET LOCAL enable_seqscan = on; "
        "1x SELECT * FROM items WHERE owner = 7\n"
    ) in output, output
    assert "query_budget.py" not in output  # the failure points at the test, not the fixture's code
