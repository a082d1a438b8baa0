"""A repository of the test's own, as another team would have it: a pyproject.toml with a
`[tool.harness]` table, and the `harness` command or pytest run in it as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# What the run's own environment must not lend the child: its settings would hide the file's.
BORROWED = ("HARNESS_", "TEST_DATABASE_URL", "POSTGRES_", "REDIS_", "PYTEST_")


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(BORROWED)}
    return {**env, "COLUMNS": "200", **extra}


def write_project(root: Path, table: str, extra: str = "") -> Path:
    """`root/pyproject.toml` with `table` as its [tool.harness] body."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "pyproject.toml"
    path.write_text(f'[project]\nname = "adopter"\nversion = "0"\n\n[tool.harness]\n{table}\n{extra}')
    return path


def run_harness(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True, check=False,
        env=env or clean_environment(),
    )  # fmt: skip


def run_pytest(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", *args], cwd=cwd,
        capture_output=True, text=True, check=False, env=env or clean_environment(),
    )  # fmt: skip


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a user sees for a bad setting (no traceback)."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
