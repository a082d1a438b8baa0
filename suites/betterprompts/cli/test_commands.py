"""The command line with BetterPrompts installed, as a user runs it: `harness up` seeds the demo
profile and administers Redis as the shipped ACL's admin, and `harness seed` is the plug-in's."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from harness.provision.endpoints import redact
from harness.provision.registry import RECORD, EnvRecord
from harness.pytest_plugin import Database
from suites.engine.cli.commands import harness


async def test_up_detached_gives_a_migrated_database_until_down(state_env: dict[str, str]) -> None:
    up = harness("up", "--detach", env=state_env)
    assert up.returncode == 0, up.stderr
    assert re.search(r"DATABASE_URL=postgresql://postgres:\*\*\*@", up.stdout), up.stdout  # no password shown
    assert re.search(r"REDIS_URL=redis://bp_admin:\*\*\*@", up.stdout), up.stdout
    urls = harness("env", env=state_env)
    assert urls.returncode == 0, urls.stderr
    dsn = re.search(r"DATABASE_URL=(\S+)", urls.stdout)
    assert dsn is not None, urls.stdout
    assert "***" not in urls.stdout
    conn = await asyncpg.connect(dsn.group(1))
    try:
        assert await conn.fetchval("SELECT count(*) FROM harness.schema_migrations") >= 7
        assert await conn.fetchval("SELECT count(*) FROM auth.users") > 50  # the demo profile
    finally:
        await conn.close()
    again = harness("up", "--detach", env=state_env)  # finds the running one
    assert redact(dsn.group(1)) in again.stdout
    status = harness("status", env=state_env)
    assert "up-" in status.stdout
    records = [EnvRecord.load(p.parent) for p in Path(state_env["HARNESS_STATE_DIR"]).glob(f"*/{RECORD}")]
    down = harness("down", env=state_env)
    assert down.returncode == 0
    assert "stopped up-" in down.stdout
    assert not any(ref.alive() for record in records for ref in record.processes)


def test_seed_shows_its_progress_a_line_per_batch_and_per_table_on_stderr(fresh_database: Database) -> None:
    result = harness("seed", "--profile", "minimal", "--dsn", fresh_database.dsn, env={"HARNESS_BCRYPT_COST": "4"})
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("seed: ")]
    assert re.fullmatch(r"seed: minimal x1: [\d,]+ history rows, made and loaded [\d,]+ at a time", progress[0])
    assert re.fullmatch(r"seed: history: [\d,]+ rows made; [\d,]+ rows of all tables loaded in [\d.]+ s", progress[1])
    loaded = [line for line in progress if re.fullmatch(r"seed: \w+\.\w+: [\d,]+ rows in [\d.]+ s", line)]
    tables = {line.split(":")[1].strip() for line in loaded}
    assert {"auth.users", "prompts.history", "prompts.embeddings"} <= tables
    assert len(tables) == len(loaded)  # a line per table, after the batches
    assert any(re.fullmatch(r"seed: prompts\.embeddings: indexes built in [\d.]+ s \(.*\)", line) for line in progress)
