"""Lint migrations with squawk (the `squawk-cli` package): findings, and warn-or-fail policy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.errors import LintFailed
from harness.extras import missing_extra
from harness.migrate.files import Migration


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


def squawk_binary() -> str | None:
    """squawk beside this Python (the lint extra installs it there), else on PATH, else None."""
    beside_python = Path(sys.executable).parent / "squawk"
    return str(beside_python) if beside_python.exists() else shutil.which("squawk")


def require_squawk() -> str:
    found = squawk_binary()
    if found is None:
        raise missing_extra("lint", 'linting migrations (squawk = "off" for none)', "squawk")
    return found


def lint_migrations(migrations: list[Migration]) -> list[Finding]:
    """squawk's findings for the up files of `migrations`. Down files are left out: squawk's rules
    judge forward deploys (every down drops what its up made), and `verify` proves downs instead."""
    findings: list[Finding] = []
    for m in migrations:
        for script in (m.up,):
            args = [require_squawk(), "--reporter", "json", "--pg-version", "17.0"]
            if script.transactional:
                args.append("--assume-in-transaction")
            result = subprocess.run([*args, str(script.path)], capture_output=True, text=True, check=False)
            if result.returncode not in (0, 1) or not result.stdout.strip():
                if result.returncode == 0:
                    continue
                raise LintFailed(f"squawk failed on {script.path}: {result.stderr.strip()}")
            for item in json.loads(result.stdout):
                findings.append(Finding(item["file"], int(item["line"]) + 1, item["rule_name"], item["message"]))
    return findings


def enforce(findings: list[Finding], mode: str) -> list[Finding]:
    """Return the findings to print as warnings, or raise when `mode` is fail."""
    if findings and mode == "fail":
        raise LintFailed("squawk found problems:\n" + "\n".join(str(f) for f in findings))
    return findings if mode == "warn" else []
