"""A record per environment on disk, so a killed run leaves nothing `harness gc` cannot find.

Each environment owns `<state_dir>/<env_id>/` (mode 0700) with an `env.json` (mode 0600: it holds
DSNs with passwords) naming its project, its owner process, the processes it started and the
containers it created. The same facts travel with every server process as environment variables
(`MARKER_*`) and with every container as labels, so what a deleted directory leaves behind is still
found. An environment whose owner is gone and that was not started to persist is an orphan.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

RECORD = "env.json"
LABEL_ENV = "org.harness.env"
LABEL_OWNER = "org.harness.owner"
LABEL_PERSISTENT = "org.harness.persistent"
LABEL_STATE_DIR = "org.harness.state-dir"
LABEL_PROJECT = "org.harness.project"
MARKER_ENV = "HARNESS_ENV_DIR"
MARKER_OWNER = "HARNESS_ENV_OWNER"
MARKER_PERSISTENT = "HARNESS_ENV_PERSISTENT"
MARKER_PROJECT = "HARNESS_ENV_PROJECT"


@dataclass(frozen=True)
class ProcessRef:
    """A pid and its start time: a pid alone may have been reused."""

    pid: int
    started: float

    @classmethod
    def of(cls, pid: int) -> ProcessRef:
        return cls(pid, psutil.Process(pid).create_time())

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return proc.create_time() == self.started and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def label(self) -> str:
        return f"{self.pid}@{self.started}"

    @classmethod
    def parse(cls, label: str) -> ProcessRef:
        pid, started = label.split("@", 1)
        return cls(int(pid), float(started))


@dataclass
class EnvRecord:
    env_id: str
    backend: str
    owner: ProcessRef
    persistent: bool
    project: str = ""
    endpoints: str | None = field(default=None, repr=False)  # JSON with the passwords: never in a repr
    processes: list[ProcessRef] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)

    def save(self, directory: Path) -> None:
        tmp = directory / (RECORD + ".tmp")
        write_private(tmp, json.dumps(asdict(self)))
        tmp.replace(directory / RECORD)

    @classmethod
    def load(cls, directory: Path) -> EnvRecord:
        data = json.loads((directory / RECORD).read_text())
        data["owner"] = ProcessRef(**data["owner"])
        data["processes"] = [ProcessRef(**p) for p in data["processes"]]
        return cls(**data)

    def orphaned(self) -> bool:
        return not self.persistent and not self.owner.alive()

    def markers(self, directory: Path) -> dict[str, str]:
        """What every server process of this environment carries in its environment."""
        return {
            MARKER_ENV: str(directory),
            MARKER_OWNER: self.owner.label(),
            MARKER_PERSISTENT: str(self.persistent).lower(),
            MARKER_PROJECT: self.project,
        }


def why_kept(owner: ProcessRef, persistent: bool, project: str, here: str, everything: bool) -> str | None:
    """The one rule `harness gc` and `harness down` follow: None when an environment may be removed
    by a caller in project `here`, else why it is left alone. A live owner's environment is never
    removed; a persistent one only with `everything`; another project's never."""
    if project and project != here:
        return f"belongs to {project}"
    if owner.alive():
        return f"in use by pid {owner.pid}"
    if persistent and not everything:
        return "persistent (kept, reused or detached); `--all` removes it"
    return None


def current_process() -> ProcessRef:
    return ProcessRef.of(os.getpid())


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by this user only (a secret, or a file holding one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT


def process_tree(pid: int) -> list[psutil.Process]:
    """`pid` and its descendants (none when it is gone)."""
    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def continue_processes(processes: list[psutil.Process]) -> None:
    """SIGCONT each: a server frozen by a fault (SIGSTOP) acts on a termination signal only once
    continued (SIGKILL alone needs no help)."""
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.resume()


def kill_process_group(ref: ProcessRef, grace: float = 5.0) -> None:
    """SIGQUIT the group led by `ref` (postgres: immediate shutdown), then SIGKILL what remains;
    each signal followed by SIGCONT to the leader and its descendants (taken before the signal:
    postgres backends are process groups of their own), so a frozen server ends too."""
    if not ref.alive():
        return
    for sig in (signal.SIGQUIT, signal.SIGKILL):
        tree = process_tree(ref.pid)
        try:
            os.killpg(ref.pid, sig)
        except ProcessLookupError:
            return
        continue_processes(tree)
        deadline = time.monotonic() + grace
        while ref.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not ref.alive():
            return
