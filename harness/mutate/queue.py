"""The work queue between `harness mutate` and its slot processes: a directory of JSON files.

A task is claimed by renaming it (atomic: one slot wins), its result is written under a temporary
name and renamed into place, and a slot notes the test it is running so that, should it die, the
runner can tell which mutant and which test it was.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

# Which collected tests may judge a task: those whose fixtures reach the mutated template, those
# that reach the Redis server or the settings' artifacts, or every test.
Channel = Literal["template", "redis", "judges", "all"]  # judges: template's or Redis's
Stop = Literal["first", "never"]


@dataclass(frozen=True)
class Task:
    """Run the tests of `channel` named in `tests` (node ids, a test function's id standing for
    all its parameters), in that order, or all of them (None), against a template with `mutation`
    applied and with `env` set; `stop` at the first failure or never."""

    seq: int
    id: str
    mutation: str = ""
    env: dict[str, str] = field(default_factory=dict)
    tests: list[str] | None = None
    channel: Channel = "template"
    stop: Stop = "first"
    exclude: list[str] = field(default_factory=list)
    trace: bool = False  # record each test's SQL words (pg_stat_statements) and duration


@dataclass(frozen=True)
class Failure:
    nodeid: str
    message: str


@dataclass
class TaskResult:
    """What a task's tests said. `folders`: folder → [tests run, tests failed]; a folder judged
    the task when it failed a test or ran every test selected from it."""

    seq: int
    id: str
    failures: list[Failure] = field(default_factory=list)
    folders: dict[str, list[int]] = field(default_factory=dict)
    unfinished: list[str] = field(default_factory=list)  # folders whose selected tests did not all run
    file_seconds: dict[str, float] = field(default_factory=dict)
    test_seconds: dict[str, float] = field(default_factory=dict)  # traced tasks only
    traces: dict[str, list[str]] = field(default_factory=dict)  # node id → words of the SQL it ran (traced)
    redis_users: list[str] = field(default_factory=list)  # tests that sent the slot's Redis a command (traced)
    tests: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def killed(self) -> bool:
        return bool(self.failures)

    @classmethod
    def from_json(cls, text: str) -> TaskResult:
        data = json.loads(text)
        data["failures"] = [Failure(**f) for f in data["failures"]]
        return cls(**data)


class TaskQueue:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        for sub in ("tasks", "claimed", "results"):
            (directory / sub).mkdir(parents=True, exist_ok=True)

    def _write(self, path: Path, text: str) -> None:
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(text)
        partial.rename(path)

    def put(self, task: Task) -> None:
        self._write(self.directory / "tasks" / f"{task.seq:06d}.json", json.dumps(asdict(task)))

    def claim(self, slot: int) -> Task | None:
        """The next pending task, now this slot's; None when there is none."""
        for path in sorted((self.directory / "tasks").glob("*.json")):
            claimed = self.directory / "claimed" / f"{path.stem}.{slot}.json"
            try:
                path.rename(claimed)
            except FileNotFoundError:
                continue  # another slot took it
            return Task(**json.loads(claimed.read_text()))
        return None

    def next_task(self, slot: int, runner_alive: Callable[[], bool], poll: float = 0.05) -> Task | None:
        """Wait for a task; None once the runner is gone (nobody would read a result, pending or
        not) or has said stop and nothing is pending."""
        while True:
            if not runner_alive():
                return None
            task = self.claim(slot)
            if task is not None:
                return task
            if (self.directory / "stop").exists():
                return None
            time.sleep(poll)  # polling a directory another process fills

    def is_claimed(self, seq: int) -> bool:
        """Whether a slot has taken task `seq` (it may have finished it too)."""
        return any((self.directory / "claimed").glob(f"{seq:06d}.*.json"))

    def complete(self, result: TaskResult) -> None:
        self._write(self.directory / "results" / f"{result.seq:06d}.json", json.dumps(asdict(result)))

    def result(self, seq: int) -> TaskResult | None:
        path = self.directory / "results" / f"{seq:06d}.json"
        return TaskResult.from_json(path.read_text()) if path.exists() else None

    def claimed_by(self, slot: int) -> list[Task]:
        """Tasks this slot claimed and left without a result (it died running them)."""
        tasks = []
        for path in sorted((self.directory / "claimed").glob(f"*.{slot}.json")):
            task = Task(**json.loads(path.read_text()))
            if self.result(task.seq) is None:
                tasks.append(task)
        return tasks

    def note_progress(self, slot: int, text: str) -> None:
        (self.directory / f"slot-{slot}.progress").write_text(text)

    def progress(self, slot: int) -> str:
        path = self.directory / f"slot-{slot}.progress"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        (self.directory / "stop").touch()
