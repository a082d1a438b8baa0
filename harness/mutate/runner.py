"""`harness mutate`: apply each mutant to a disposable copy of the project, run the suites there,
and report which mutants survived (the suites passed with the mistake in place)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigurationError, HarnessError

PYTEST = ["-m", "pytest", "-q", "-x", "-n", "auto", "-p", "no:cacheprovider"]


@dataclass(frozen=True)
class Mutant:
    """A hand-written mutant: a textual edit of one file of the project (`path`, relative to its
    root). An edit that no longer applies is an error, so a catalogue stays honest as code moves."""

    id: str
    kind: str
    description: str
    path: str
    find: str
    replace: str


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant | None  # None: the unmutated baseline
    killed: bool
    seconds: float
    evidence: str  # the first failing test, or why it survived

    @property
    def name(self) -> str:
        return self.mutant.id if self.mutant else "baseline"


def copy_project(root: Path, target: Path) -> None:
    """The files git tracks (what a clone would hold), plus the untracked ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    for name in filter(None, listed):
        source = root / name.decode()
        if source.is_file():
            destination = target / name.decode()
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


def apply(mutant: Mutant, tree: Path) -> None:
    path = tree / mutant.path
    text = path.read_text()
    if text.count(mutant.find) != 1:
        raise ConfigurationError(
            f"mutant {mutant.id}: {mutant.path} holds its target text {text.count(mutant.find)} times, not once"
        )
    path.write_text(text.replace(mutant.find, mutant.replace))


def run_suites(
    tree: Path, pytest_args: Sequence[str], timeout: float, not_judges: Sequence[str] = ()
) -> tuple[bool, str]:
    """(passed, evidence) of the suites in `tree` but `not_judges`, importing harness from `tree` itself."""
    environ = {**os.environ, "PYTHONPATH": str(tree), "HARNESS_REUSE": "false", "HARNESS_KEEP": "false"}
    argv = [sys.executable, *PYTEST, *(f"--ignore={folder}" for folder in not_judges), *pytest_args]
    try:
        result = subprocess.run(
            argv, cwd=tree, env=environ, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f}s (a hang counts as caught)"
    failed = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-300:]
    return result.returncode == 0, (failed[0] if failed else summary)


def mutate(
    root: Path, mutants: Sequence[Mutant], pytest_args: Sequence[str] = (), timeout: float = 600,
    progress: Callable[[Outcome], None] = lambda outcome: None, not_judges: Sequence[str] = (),
) -> list[Outcome]:  # fmt: skip
    """The baseline first (it must pass), then every mutant, each in a fresh copy."""
    outcomes: list[Outcome] = []
    for mutant in [None, *mutants]:
        with tempfile.TemporaryDirectory(prefix="harness-mutant-") as scratch:
            tree = Path(scratch)
            tree.chmod(0o755)  # the embedded servers run as `nobody` and read the shipped config here
            copy_project(root, tree)
            if mutant is not None:
                apply(mutant, tree)
            started = time.monotonic()
            passed, evidence = run_suites(tree, pytest_args, timeout, not_judges)
            outcome = Outcome(mutant, killed=not passed, seconds=time.monotonic() - started, evidence=evidence)
        progress(outcome)
        if mutant is None and outcome.killed:
            raise HarnessError(f"the unmutated suites fail, so no mutant can be judged: {evidence}")
        outcomes.append(outcome)
    return outcomes[1:]
