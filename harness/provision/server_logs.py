"""An embedded server's log, kept when its run failed or the server reported trouble of its own:
the environment's directory, the log with it, is removed when the run ends, and the log is the
only witness of what the server did (a rehearsal's failed checkpoints could not be explained
once it was gone).

What is kept: the end of each text log file (KEPT_BYTES) in `<failed_logs_dir>/<environment>-<time>/`;
the newest KEPT_RUNS such directories stay.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

# A server's own processes: an error of theirs is the server's trouble, not a test's.
SERVER_PROCESSES = frozenset(
    {"checkpointer", "background writer", "walwriter", "startup", "postmaster", "autovacuum launcher",
     "autovacuum worker"}
)  # fmt: skip
# What a DROP DATABASE or a lock does to autovacuum: a worker ended or cancelled on request, or one
# sent to a database dropped before it connected ("database 137029 does not exist").
ROUTINE = frozenset({"57P01", "57014", "3D000"})
# SQLSTATE classes that are trouble from any process: data corrupted, internal error (XX), I/O (58).
TROUBLE_CLASSES = ("XX", "58")
SEVERITIES = ('"error_severity":"ERROR"', '"error_severity":"FATAL"', '"error_severity":"PANIC"')
KEPT_BYTES = 4 * 2**20
KEPT_RUNS = 10


def server_trouble(log_dir: Path) -> str | None:
    """The first record of the server's jsonlog in `log_dir` that says the server itself failed, as
    `process: message`: a PANIC, an error of one of its own processes (the checkpointer, say), or
    corruption or an I/O error anywhere. None when there is none (or no log)."""
    for path in sorted(log_dir.glob("*.json")) if log_dir.is_dir() else []:
        with path.open(errors="replace") as file:
            for line in file:
                if not any(severity in line for severity in SEVERITIES):
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                code = str(record.get("state_code", ""))
                process = str(record.get("backend_type", ""))
                if (
                    record.get("error_severity") == "PANIC"
                    or code.startswith(TROUBLE_CLASSES)
                    or (process in SERVER_PROCESSES and code not in ROUTINE)
                ):
                    return f"{process}: {record.get('message', '')}"
    return None


def keep_logs(logs: list[Path], root: Path, name: str) -> Path:
    """Copy the end of each text log in `logs` (files, or directories of them: jsonlog twins left
    out) to a new directory `root/<name>-<time>`; the directory. Older ones past KEPT_RUNS go."""
    target = root / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    target.mkdir(parents=True, exist_ok=True)
    files = [p for path in logs for p in (sorted(path.iterdir()) if path.is_dir() else [path])]
    for path in files:
        if not path.is_file() or path.suffix == ".json":
            continue
        with path.open("rb") as source, (target / path.name).open("wb") as copy:
            size = source.seek(0, 2)
            source.seek(max(0, size - KEPT_BYTES))
            shutil.copyfileobj(source, copy)
    for old in sorted(root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)[KEPT_RUNS:]:
        shutil.rmtree(old, ignore_errors=True)
    return target
