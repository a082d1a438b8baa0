"""Running the command line as a user does: a real process in the repository's directory (or another)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def harness(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )  # fmt: skip
