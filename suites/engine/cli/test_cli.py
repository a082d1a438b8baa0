"""The command line as a user runs it: a real process, real servers (suites/betterprompts/cli:
the commands and the demo BetterPrompts adds)."""

from __future__ import annotations

import re
from pathlib import Path

from harness.config import Settings
from harness.pytest_plugin import Database
from suites.engine.cli.commands import harness


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


def test_the_cache_commands_say_so_when_the_initdb_cache_is_off() -> None:
    for command in ("list", "clear"):
        result = harness("cache", command, env={"HARNESS_INITDB_CACHE": ""})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == 'the initdb cache is off (initdb_cache = ""): no template snapshots'
