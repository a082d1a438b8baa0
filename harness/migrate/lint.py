"""Lint migrations with squawk (the `squawk-cli` package): findings, and warn-or-fail policy.

squawk takes many files per run, and starting it costs more than linting a small file (500
files took 1.9 s one run each, 0.05 s in one run), so files are linted in as few runs as
possible: `--assume-in-transaction` holds for a whole run, hence one run for transactional files
and one for `-- harness:no-transaction` ones (more only past a command line's length).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.config import LintMode
from harness.errors import LintFailed
from harness.extras import missing_extra
from harness.migrate.files import Migration, Script

PATHS_PER_RUN = 256 * 1024  # characters of paths on one squawk command line: far below ARG_MAX


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class SquawkRun:
    """One squawk process: files that share whether a transaction wraps them."""

    in_transaction: bool
    paths: tuple[str, ...]


def squawk_binary() -> str | None:
    """squawk beside this Python (the lint extra installs it there), else on PATH, else None."""
    beside_python = Path(sys.executable).parent / "squawk"
    return str(beside_python) if beside_python.exists() else shutil.which("squawk")


def require_squawk() -> str:
    found = squawk_binary()
    if found is None:
        raise missing_extra("lint", 'linting migrations (squawk = "off" for none)', "squawk")
    return found


def plan_runs(scripts: Sequence[Script], budget: int = PATHS_PER_RUN) -> list[SquawkRun]:
    """The fewest squawk runs that lint `scripts`, none with more than `budget` characters of paths."""
    runs = []
    for in_transaction in (True, False):
        paths = [str(s.path) for s in scripts if s.transactional == in_transaction]
        runs += [SquawkRun(in_transaction, batch) for batch in _batches(paths, budget)]
    return runs


def _batches(paths: list[str], budget: int) -> Iterator[tuple[str, ...]]:
    batch: list[str] = []
    size = 0
    for path in paths:
        if batch and size + len(path) + 1 > budget:
            yield tuple(batch)
            batch, size = [], 0
        batch.append(path)
        size += len(path) + 1
    if batch:
        yield tuple(batch)


def lint_migrations(migrations: Sequence[Migration]) -> list[Finding]:
    """squawk's findings for the up files of `migrations`, file by file in their order. Down files
    are left out: squawk's rules judge forward deploys (every down drops what its up made), and
    `verify` proves downs instead."""
    scripts = [m.up for m in migrations]
    findings = [finding for run in plan_runs(scripts) for finding in _squawk(run)]
    order = {str(s.path): i for i, s in enumerate(scripts)}
    return sorted(findings, key=lambda f: order.get(f.path, len(order)))  # stable: squawk's order within a file


def _squawk(run: SquawkRun) -> list[Finding]:
    args = [require_squawk(), "--reporter", "json", "--pg-version", "17.0"]
    if run.in_transaction:
        args.append("--assume-in-transaction")
    result = subprocess.run([*args, *run.paths], capture_output=True, text=True, check=False)
    if result.returncode == 0 and not result.stdout.strip():
        return []
    if result.returncode not in (0, 1) or not result.stdout.strip():
        others = f" (or one of {len(run.paths) - 1} other files)" if len(run.paths) > 1 else ""
        raise LintFailed(f"squawk failed on {run.paths[0]}{others}: {result.stderr.strip()}")
    return [
        Finding(item["file"], int(item["line"]) + 1, item["rule_name"], item["message"])
        for item in json.loads(result.stdout)
    ]


def pending_check(mode: LintMode, warn: Callable[[Finding], object]) -> Callable[[Sequence[Migration]], None] | None:
    """`apply_migrations`' `lint` for squawk mode `mode`: the pending files linted together, each
    finding passed to `warn`, or LintFailed in fail mode before any runs; None when off."""
    if mode == "off":
        return None

    def check(pending: Sequence[Migration]) -> None:
        for finding in enforce(lint_migrations(pending), mode):
            warn(finding)

    return check


def enforce(findings: list[Finding], mode: str) -> list[Finding]:
    """Return the findings to print as warnings, or raise when `mode` is fail."""
    if findings and mode == "fail":
        raise LintFailed("squawk found problems:\n" + "\n".join(str(f) for f in findings))
    return findings if mode == "warn" else []
