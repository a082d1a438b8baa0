"""`rehearsal.json` (written by `harness migrate rehearse`) read for the report: per migration its
outcome, wall time, the longest lock wait it caused the load, and the load's p95 and errors before
and during it; and the rehearsal's verdict, the reasons it failed, as the command judged them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ResultsFileError

REHEARSAL_FILE = "rehearsal.json"


@dataclass(frozen=True)
class LoadWindow:
    queries: int
    errors: int
    p95_ms: float | None
    max_ms: float | None


@dataclass(frozen=True)
class RehearsedMigration:
    label: str
    outcome: str  # applied | lock_timeout | failed | not run
    wall_s: float
    longest_lock_wait_s: float
    before: LoadWindow
    during: LoadWindow
    message: str


@dataclass(frozen=True)
class RehearsalRun:
    clients: int
    baseline_s: float
    max_block_s: float
    lock_timeout_s: float | None
    migrations: list[RehearsedMigration]
    failures: list[str]  # why the rehearsal failed, one line each (empty: it passed)

    def blocked(self, m: RehearsedMigration) -> bool:
        return m.longest_lock_wait_s > self.max_block_s


def _window(data: dict[str, Any]) -> LoadWindow:
    optional = {key: None if data[key] is None else float(data[key]) for key in ("p95_ms", "max_ms")}
    return LoadWindow(int(data["queries"]), int(data["errors"]), **optional)


def load_rehearsal(path: Path) -> RehearsalRun:
    try:
        data = json.loads(path.read_text())
        migrations = [
            RehearsedMigration(str(m["label"]), str(m["outcome"]), float(m["wall_s"]), float(m["longest_lock_wait_s"]),
                               _window(m["before"]), _window(m["during"]), str(m.get("message", "")))
            for m in data["migrations"]
        ]  # fmt: skip
        timeout = data.get("lock_timeout_s")
        return RehearsalRun(
            int(data["clients"]), float(data["baseline_s"]), float(data["max_block_s"]),
            None if timeout is None else float(timeout), migrations, [str(f) for f in data["failures"]],
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ResultsFileError(f"{path}: not a rehearsal results file ({type(exc).__name__}: {exc})") from exc
