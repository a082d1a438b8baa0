"""The slot processes of a `harness mutate` run: N pytest sessions (harness.mutate.session), each
with servers of its own that it reuses for every task, fed through one TaskQueue.

A slot that dies (a hang killed by pytest-timeout's thread method, a crash) is restarted; the task
it was running gets a result from what it left: the test it was running, and whether its output
names a timeout there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from harness.errors import HarnessError
from harness.mutate.queue import Failure, Task, TaskQueue, TaskResult
from harness.provision.gc import remove_environment_files
from harness.provision.registry import RECORD, EnvRecord


class SlotPool:
    def __init__(
        self,
        root: Path,
        run_dir: Path,
        size: int,
        test_timeout: float,
        paths: Sequence[str] = ("suites",),
        not_judges: Sequence[str] = (),  # Settings.mutate_not_judges: left out of every session
    ) -> None:
        self.root = root
        self.paths = list(paths)
        self.not_judges = list(not_judges)
        self.run_dir = run_dir
        self.size = size
        self.test_timeout = test_timeout
        self.queue = TaskQueue(run_dir / "queue")
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.deaths: dict[int, int] = {}
        self._seq = 0

    def state_dir(self, slot: int) -> Path:
        return self.run_dir / f"slot-{slot}"

    def log(self, slot: int) -> Path:
        return self.run_dir / f"slot-{slot}.log"

    def start(self) -> None:
        for slot in range(self.size):
            self._spawn(slot)

    def _spawn(self, slot: int) -> None:
        environ = {
            **os.environ, "HARNESS_REUSE": "true", "HARNESS_KEEP": "false", "HARNESS_BACKEND": "embedded",
            "HARNESS_STATE_DIR": str(self.state_dir(slot)), "PYTHONPATH": str(self.root),
        }  # fmt: skip
        environ.pop("HARNESS_TEMPLATE_MUTATION", None)
        argv = [
            sys.executable, "-m", "pytest", "-p", "harness.mutate.session", "-p", "no:xdist", "-q",
            "-p", "no:cacheprovider", "--mutation-queue", str(self.queue.directory), "--mutation-slot", str(slot),
            "-o", f"timeout={self.test_timeout:g}", *self.paths, *(f"--ignore={path}" for path in self.not_judges),
        ]  # fmt: skip
        with self.log(slot).open("ab") as log:
            self.processes[slot] = subprocess.Popen(
                argv, cwd=self.root, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def run(
        self, tasks: Iterable[Task], timeout: float, on_result: Callable[[TaskResult], None] = lambda result: None
    ) -> dict[int, TaskResult]:
        """Queue `tasks` and wait for every result. A task running longer than `timeout` seconds
        is an error; its clock starts when a slot takes it, not while it waits for a free slot."""
        pending = {task.seq: task for task in tasks}
        for task in pending.values():
            self.queue.put(task)
        results: dict[int, TaskResult] = {}
        started: dict[int, float] = {}
        while pending:
            now = time.monotonic()
            for seq in list(pending):
                result = self.queue.result(seq)
                if result is not None:
                    results[seq] = result
                    del pending[seq]
                    on_result(result)
                elif seq not in started and self.queue.is_claimed(seq):
                    started[seq] = now
                elif seq in started and now - started[seq] > timeout:
                    results[seq] = TaskResult(seq, pending.pop(seq).id, error=f"no result in {timeout:g} s")
            self._revive(pending)
            time.sleep(0.05)  # polling files the slots write
        return results

    def _revive(self, pending: dict[int, Task]) -> None:
        for slot, process in self.processes.items():
            if process.poll() is None:
                continue
            orphans = self.queue.claimed_by(slot)
            for task in orphans:
                self.queue.complete(self._result_of_dead_slot(slot, task))
            self.deaths[slot] = 0 if orphans else self.deaths.get(slot, 0) + 1
            if self.deaths[slot] > 2:
                tail = self.log(slot).read_text(errors="replace")[-600:]
                raise HarnessError(f"mutation slot {slot} keeps dying before it runs a task ({self.log(slot)}): {tail}")
            if pending:
                self._spawn(slot)

    def _result_of_dead_slot(self, slot: int, task: Task) -> TaskResult:
        progress = self.queue.progress(slot).split(" ", 2)
        nodeid = progress[2] if len(progress) == 3 and progress[0] == str(task.seq) else ""
        tail = self.log(slot).read_text(errors="replace")[-20000:]
        if nodeid and "Timeout" in tail:
            return TaskResult(task.seq, task.id, [Failure(nodeid, f"timeout: the slot died in {nodeid}")])
        return TaskResult(task.seq, task.id, error=f"the slot died running {nodeid or 'the task'}: {tail[-300:]}")

    def close(self) -> None:
        """Stop the slots, then remove their servers and every file of the run."""
        self.queue.stop()
        for process in self.processes.values():
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.remove_servers()

    def remove_servers(self) -> None:
        """The run's own servers, whoever started them (the runner reads slot 0's catalog), and its files."""
        for record_file in self.run_dir.glob(f"slot-*/*/{RECORD}"):
            remove_environment_files(record_file.parent, EnvRecord.load(record_file.parent))
        shutil.rmtree(self.run_dir, ignore_errors=True)
