"""Lint migrations with squawk (the `squawk-cli` package): findings, and warn-or-fail policy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigurationError, LintFailed
from harness.migrate.files import Migration


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


def squawk_binary() -> str:
    beside_python = Path(sys.executable).parent / "squawk"
    found = str(beside_python) if beside_python.exists() else shutil.which("squawk")
    if found is None:
        raise ConfigurationError("squawk is not installed: pip install squawk-cli (or set squawk linting to off)")
    return found


def lint_migrations(migrations: list[Migration]) -> list[Finding]:
    """squawk's findings for the up files of `migrations`. Down files are left out: squawk's rules
    judge forward deploys (every down drops what its up made), and `verify` proves downs instead."""
    findings: list[Finding] = []
    for m in migrations:
        for script in (m.up,):
            args = [squawk_binary(), "--reporter", "json", "--pg-version", "17.0"]
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
