"""`harness gc`: remove what killed runs of this project left behind: processes, directories,
containers; and say what it left alone (other projects', live runs', persistent ones)."""

from __future__ import annotations

import os
import pwd
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from harness.provision.containers import collect_orphan_containers, remove_containers
from harness.provision.embedded import UNPRIVILEGED_USER
from harness.provision.locking import try_lock, unlock
from harness.provision.registry import (
    MARKER_ENV,
    MARKER_OWNER,
    MARKER_PERSISTENT,
    MARKER_PROJECT,
    RECORD,
    EnvRecord,
    ProcessRef,
    kill_process_group,
    why_kept,
)

FRESH_SECONDS = 60


@dataclass
class Collected:
    """What a collection removed, and what it left alone with the reason."""

    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def remove_environment_files(directory: Path, record: EnvRecord | None) -> None:
    """Stop the record's processes and containers, then delete its directory."""
    if record is not None:
        for ref in record.processes:
            kill_process_group(ref)
        if record.containers:
            remove_containers(record.containers)
    shutil.rmtree(directory, ignore_errors=True)


def collect_garbage(state_dir: Path, project: str, everything: bool = False) -> Collected:
    """Remove `project`'s orphaned environments (and its persistent ones whose owner is gone, with
    `everything`), then servers whose environment directory was deleted under them."""
    done = Collected()
    if state_dir.is_dir():
        for directory in sorted(p for p in state_dir.iterdir() if p.is_dir()):
            _collect_directory(directory, project, everything, done)
        _collect_lock_files(state_dir, done)
    _collect_stray_servers(state_dir, project, everything, done)
    removed, kept = collect_orphan_containers(state_dir, project, everything)
    done.removed += removed
    done.kept += kept
    return done


def _collect_directory(directory: Path, project: str, everything: bool, done: Collected) -> None:
    try:
        record = EnvRecord.load(directory)
    except (OSError, ValueError, KeyError, TypeError):
        nested = sorted({p.parent for p in directory.glob(f"*/*/{RECORD}")})
        if nested:  # a run of environments (`harness mutate`'s slots): each is judged by its own owner
            for inner in nested:
                _collect_directory(inner, project, everything, done)
            if not any(inner.exists() for inner in nested):
                shutil.rmtree(directory, ignore_errors=True)
            return
        # no readable record: an environment still writing its first one, or a broken remains
        if time.time() - directory.stat().st_mtime >= FRESH_SECONDS and directory.stat().st_uid in _our_uids():
            shutil.rmtree(directory, ignore_errors=True)
            done.removed.append(f"environment {directory} (no record)")
        return
    reason = why_kept(record.owner, record.persistent, record.project, project, everything)
    if reason is None:
        remove_environment_files(directory, record)
        done.removed.append(f"environment {directory}")
    else:
        done.kept.append(f"environment {directory}: {reason}")


def _collect_lock_files(state_dir: Path, done: Collected) -> None:
    """Lock files whose holder is gone (a killed run leaves its file; the kernel already let go)."""
    for path in sorted(state_dir.glob("*.lock")):
        fd = try_lock(path)
        if fd is not None:
            unlock(path, fd)
            done.removed.append(f"lock file {path}")


def _collect_stray_servers(state_dir: Path, project: str, everything: bool, done: Collected) -> None:
    """Server processes whose environment directory is gone: found by the markers they carry."""
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) != proc.pid:
                continue  # a postgres backend: its postmaster leads the group
            marks = proc.environ()
        except (psutil.Error, OSError):
            continue
        directory = Path(marks.get(MARKER_ENV, "/"))
        if state_dir not in directory.parents or (directory / RECORD).exists():
            continue
        try:
            owner = ProcessRef.parse(marks[MARKER_OWNER])
            ref = ProcessRef.of(proc.pid)
        except (KeyError, ValueError, psutil.Error):
            continue
        persistent = marks.get(MARKER_PERSISTENT) == "true"
        reason = why_kept(owner, persistent, marks.get(MARKER_PROJECT, ""), project, everything)
        what = f"process {proc.pid} ({proc.name()}) of deleted {directory}"
        if reason is None:
            kill_process_group(ref)
            done.removed.append(what)
        else:
            done.kept.append(f"{what}: {reason}")


def _our_uids() -> set[int]:
    """Who may own this user's remains: the user, and `nobody` for root's demoted servers."""
    if os.geteuid() != 0:
        return {os.geteuid()}
    return {0, pwd.getpwnam(UNPRIVILEGED_USER).pw_uid}
