"""A record per environment on disk, so a killed run leaves nothing `harness gc` cannot find.

Each environment owns `<state_dir>/<env_id>/` with an `env.json` naming its owner process, the
processes it started and the containers it created. An environment whose owner is gone and that
was not started to persist is an orphan.
"""

from __future__ import annotations

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
    endpoints: str | None = None
    processes: list[ProcessRef] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)

    def save(self, directory: Path) -> None:
        tmp = directory / (RECORD + ".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(directory / RECORD)

    @classmethod
    def load(cls, directory: Path) -> EnvRecord:
        data = json.loads((directory / RECORD).read_text())
        data["owner"] = ProcessRef(**data["owner"])
        data["processes"] = [ProcessRef(**p) for p in data["processes"]]
        return cls(**data)

    def orphaned(self) -> bool:
        return not self.persistent and not self.owner.alive()


def current_process() -> ProcessRef:
    return ProcessRef.of(os.getpid())


def kill_process_group(ref: ProcessRef, grace: float = 5.0) -> None:
    """SIGQUIT the group led by `ref` (postgres: immediate shutdown), then SIGKILL what remains."""
    if not ref.alive():
        return
    for sig in (signal.SIGQUIT, signal.SIGKILL):
        try:
            os.killpg(ref.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while ref.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not ref.alive():
            return
