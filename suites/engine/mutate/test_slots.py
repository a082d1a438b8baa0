"""The runner's side of the slot queue: a task's time limit runs from when a slot takes it, so
batches queued behind each other on few slots are not failed for waiting."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from harness.mutate.queue import Task, TaskResult
from harness.mutate.slots import SlotPool


def serve(pool: SlotPool, seconds_per_task: float, count: int, answer: bool = True) -> threading.Thread:
    """A slot taking `count` tasks one after another, each taking `seconds_per_task` (answered or not)."""

    def work() -> None:
        for _ in range(count):
            task = pool.queue.next_task(0, runner_alive=lambda: True)
            assert task is not None
            time.sleep(seconds_per_task)
            if answer:
                pool.queue.complete(TaskResult(task.seq, task.id, tests=1))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_tasks_waiting_for_the_one_slot_are_not_timed_out_while_they_wait(tmp_path: Path) -> None:
    pool = SlotPool(tmp_path, tmp_path / "run", size=0, test_timeout=60)
    slot = serve(pool, seconds_per_task=1.0, count=3)
    results = pool.run([Task(pool.next_seq(), f"t{i}") for i in range(3)], timeout=2.5)
    slot.join()
    assert [r.error for r in results.values()] == [None, None, None]  # 3 s in all, 1 s each


def test_a_task_a_slot_took_and_never_answered_is_an_error_naming_the_limit(tmp_path: Path) -> None:
    pool = SlotPool(tmp_path, tmp_path / "run", size=0, test_timeout=60)
    serve(pool, seconds_per_task=30, count=1, answer=False)
    results = pool.run([Task(pool.next_seq(), "stuck")], timeout=0.5)
    assert [r.error for r in results.values()] == ["no result in 0.5 s"]


def test_a_slot_takes_nothing_more_once_the_runner_is_gone(tmp_path: Path) -> None:
    """A terminated `harness mutate` reads no more results: its slots stop (and tear down their
    servers) instead of working through the tasks it left queued."""
    pool = SlotPool(tmp_path, tmp_path / "run", size=0, test_timeout=60)
    pool.queue.put(Task(pool.next_seq(), "left behind"))
    assert pool.queue.next_task(0, runner_alive=lambda: False) is None
    assert pool.queue.next_task(0, runner_alive=lambda: True) is not None
