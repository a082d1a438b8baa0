"""The command line as a user runs it: a real process, real servers."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from harness.config import Settings
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


def test_migrate_status_and_dry_run_against_a_database(fresh_database: Database, harness_settings: Settings) -> None:
    status = harness("migrate", "status", "--dsn", fresh_database.dsn)
    assert status.returncode == 0, status.stderr
    assert re.search(r"0007\s.*partition_history\s.*applied", status.stdout)
    assert re.search(r"0008\s.*least_privilege\s.*applied", status.stdout)
    rollback = harness("migrate", "down", "--steps", "2", "--dry-run", "--dsn", fresh_database.dsn)
    assert rollback.stdout.startswith("-- 0008_least_privilege (down)")
    assert "-- 0007_partition_history (down)" in rollback.stdout
    assert "merge the partitions back" in rollback.stdout
    nothing = harness("migrate", "up", "--dry-run", "--dsn", fresh_database.dsn)
    assert nothing.stdout.strip() == "-- nothing to do"


def test_bad_input_is_one_clear_line_and_a_nonzero_exit(fresh_database: Database, tmp_path: Path) -> None:
    (tmp_path / "1_bad.up.sql").write_text("SELECT 1;")
    result = harness("migrate", "up", "--dsn", fresh_database.dsn, "--dir", str(tmp_path))
    assert result.returncode == 1
    assert "1_bad.up.sql: not named NNNN_name.up.sql" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_or_empty_migrations_directory_is_named_before_any_connection(tmp_path: Path) -> None:
    unreachable = "postgresql://nobody@127.0.0.1:1/nothing"  # never dialled: the directory is checked first
    for directory in (tmp_path / "nonexistent", tmp_path):
        result = harness("migrate", "up", "--dsn", unreachable, "--dir", str(directory))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"error: migrations directory {directory} "), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "harness_migrations_dir" in result.stderr


def test_seed_shows_its_progress_a_line_per_table_on_stderr(fresh_database: Database) -> None:
    result = harness("seed", "--profile", "minimal", "--dsn", fresh_database.dsn, env={"HARNESS_BCRYPT_COST": "4"})
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("seed: ")]
    assert re.fullmatch(r"seed: minimal x1: [\d,]+ rows generated in [\d.]+ s; loading (\d+) tables", progress[0])
    tables = {line.split(":")[1].strip() for line in progress[1:]}
    assert {"auth.users", "prompts.history", "prompts.embeddings"} <= tables
    assert len(tables) == len(progress) - 1 == int(progress[0].rsplit(" ", 2)[1])


def test_a_generated_migration_refuses_to_apply_until_it_is_written(blank_database: Database, tmp_path: Path) -> None:
    generated = harness("migrate", "generate", "add tags", "--dir", str(tmp_path))
    assert generated.returncode == 0, generated.stderr
    applied = harness(
        "migrate", "up", "--dsn", blank_database.dsn, "--dir", str(tmp_path), env={"HARNESS_SQUAWK": "off"}
    )
    assert applied.returncode == 1
    assert re.search(r"0001_add_tags\.up\.sql:\d+: RaiseError", applied.stderr), applied.stderr
    assert "still the generated template: write it" in applied.stderr
    assert "Traceback" not in applied.stderr
