"""The pytest side of insight, registered by harness.pytest_plugin: the process that provisions
(the xdist controller, or a lone session) zeroes the statistics once the servers are ready and
writes the capture at session end; every process reads its worker clone's tables before the clone
goes back to the pool (a dropped database takes its table statistics along: a connection per
test, made only when capturing), and xdist workers
hand theirs to the controller through `workeroutput`.

The capture goes beside `--junitxml` (`junit-<name>.xml` → `insight-<name>.json`, the run
directory of `harness report`); a run without one captures nothing.
"""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from harness.insight.capture import FAILURES, InsightStart, capture_insight, start_insight, write_insight
from harness.insight.postgres import table_snapshot
from harness.provision.endpoints import Endpoints

WORKER_OUTPUT = "harness_insight_tables"
T = TypeVar("T")


def insight_path(junit: str | None) -> Path | None:
    if not junit:
        return None
    path = Path(junit)
    stem = path.stem.removeprefix("junit")
    return path.with_name(f"insight{stem if stem.startswith(('-', '_')) or not stem else '-' + stem}.json")


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`work` on an event loop of its own in a thread: a fixture's teardown may sit inside a running loop."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(work()))
        except BaseException as exc:  # handed back to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="harness-insight")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


class InsightPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.target = insight_path(config.getoption("xmlpath", None))
        self.start: InsightStart | None = None
        self.snapshots: dict[str, dict[str, Any]] = {}  # by database OID: the latest

    def begin(self, endpoints: Endpoints) -> None:
        """The run's servers are ready: zero their statistics."""
        if self.target is not None:
            self.start = _run(lambda: start_insight(endpoints.postgres, endpoints.redis))

    def keep_tables(self, dsn: str) -> None:
        """Read a clone's table statistics before it is reused or dropped."""
        if self.target is None:
            return
        try:
            snapshot = _run(lambda: table_snapshot(dsn))
            self.snapshots[str(snapshot["oid"])] = snapshot
        except FAILURES as exc:  # a test that brought the server down: the rest of the capture still counts
            warnings.warn(f"insight: tables not read ({type(exc).__name__}: {exc})", stacklevel=1)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: a worker's clones' tables."""
        self.snapshots.update(json.loads(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT, "{}")))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        output = getattr(self.config, "workeroutput", None)
        if output is not None:
            output[WORKER_OUTPUT] = json.dumps(self.snapshots, default=str)
            return
        if self.start is None or self.target is None:
            return
        start = self.start
        try:
            document = _run(lambda: capture_insight(start, snapshots=self.snapshots.values()))
        except FAILURES as exc:
            warnings.warn(f"insight: not captured ({type(exc).__name__}: {exc})", stacklevel=1)
            return
        write_insight(document, self.target)
