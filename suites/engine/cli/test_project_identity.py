"""A project is the directory of its pyproject.toml, not the directory a command runs in: a
`harness up --detach` started at the root serves `env`, `clone` and `status` run anywhere below
it, and what `harness env` exports is what `harness migrate` reads. Real processes, a real `up`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.config import Settings
from harness.migrate import load_migrations
from suites.engine.cli.commands import ROOT, harness

SUBDIRECTORY = ROOT / "suites" / "engine" / "cli"
# What would name the project or a database without the file: a shell of the user's has none of them.
NOT_INHERITED = ("HARNESS_PROJECT_FILE", "HARNESS_DATABASE_URL", "TEST_DATABASE_URL", "DATABASE_URL", "POSTGRES_HOST")


def as_a_user_has_it(env: dict[str, str]) -> dict[str, str]:
    """The child environment of `up_env` minus what would find the project or a database for it
    (wide enough for `harness status` to keep each row on one line)."""
    inherited = {name: value for name, value in {**os.environ, **env}.items() if name not in NOT_INHERITED}
    return {**inherited, "COLUMNS": "300"}


def test_env_clone_and_status_from_a_subdirectory_find_the_up_started_at_the_root(
    up_env: dict[str, str], harness_settings: Settings
) -> None:
    env = as_a_user_has_it(up_env)
    at_root = harness("env", "--format", "json", env=env)
    below = harness("env", "--format", "json", env=env, cwd=SUBDIRECTORY)
    assert below.returncode == 0, below.stderr
    assert json.loads(below.stdout) == json.loads(at_root.stdout)
    assert json.loads(below.stdout)["postgres"]["database"] == harness_settings.database  # the root's setting

    cloned = harness("clone", "--format", "json", env=env, cwd=SUBDIRECTORY)
    assert cloned.returncode == 0, cloned.stderr
    dropped = harness("drop", json.loads(cloned.stdout)["DATABASE_NAME"], env=env, cwd=ROOT / "schema" / "postgres")
    assert dropped.returncode == 0, dropped.stderr

    status = harness("status", env=env, cwd=SUBDIRECTORY)
    (row,) = [line for line in status.stdout.splitlines() if "│ up-" in line]
    assert [cell.strip() for cell in row.split("│")][2] == str(ROOT)  # the project column


def test_a_directory_outside_the_project_is_another_project(up_env: dict[str, str], tmp_path: Path) -> None:
    elsewhere = harness("env", env=as_a_user_has_it(up_env), cwd=tmp_path)
    assert elsewhere.returncode == 1
    assert f"no `harness up` environment runs for {tmp_path.resolve()}" in elsewhere.stderr


def test_what_env_exports_is_what_migrate_reads(up_env: dict[str, str], harness_settings: Settings) -> None:
    command = f"{sys.executable} -m harness"
    shell = f'eval "$({command} env --format export)" && {command} migrate status'
    done = subprocess.run(
        ["bash", "-c", shell], cwd=SUBDIRECTORY, env=as_a_user_has_it(up_env),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    applied = [line for line in done.stdout.splitlines() if "│ applied │" in line]
    assert len(applied) == len(load_migrations(harness_settings.migrations_dir)), done.stdout
