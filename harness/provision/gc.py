"""`harness gc`: remove what killed runs left behind: processes, directories, containers."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from harness.provision.containers import collect_orphan_containers, remove_containers
from harness.provision.registry import EnvRecord, kill_process_group

FRESH_SECONDS = 60


def remove_environment_files(directory: Path, record: EnvRecord | None) -> None:
    """Stop the record's processes and containers, then delete its directory."""
    if record is not None:
        for ref in record.processes:
            kill_process_group(ref)
        if record.containers:
            remove_containers(record.containers)
    shutil.rmtree(directory, ignore_errors=True)


def collect_garbage(state_dir: Path, everything: bool = False) -> list[str]:
    """Remove orphaned environments (every harness environment with `everything`); say what went."""
    removed: list[str] = []
    if state_dir.is_dir():
        for directory in sorted(p for p in state_dir.iterdir() if p.is_dir()):
            try:
                record: EnvRecord | None = EnvRecord.load(directory)
            except (OSError, ValueError, KeyError, TypeError):
                record = None
                if time.time() - directory.stat().st_mtime < FRESH_SECONDS:
                    continue  # an environment still writing its first record
            if record is None or everything or record.orphaned():
                remove_environment_files(directory, record)
                removed.append(f"environment {directory}")
    removed.extend(collect_orphan_containers(state_dir, everything))
    return removed
