"""The pytest side of insight, registered by harness.pytest_plugin: the process that provisions
(the xdist controller, or a lone session) zeroes the statistics once the servers are ready and
writes the capture at session end; every process's clone pool reads each clone's tables when it is
handed back, in the pool's thread, off the tests' path (a dropped database takes its table
statistics along: a connection per clone, made only when capturing; a backend still exiting then
may not have flushed its last counts), and xdist workers hand theirs to the controller through
`workeroutput`.

The capture goes beside `--junitxml` (`junit-<name>.xml` → `insight-<name>.json`, the run
directory of `harness report`); a run without one captures nothing.
"""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:  # the capture (and redis-py) load only in a run that captures: start-up
    from harness.insight.capture import InsightStart
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
        self.unread: list[str] = []  # clones whose tables could not be read

    def begin(self, endpoints: Endpoints) -> None:
        """The run's servers are ready: zero their statistics."""
        if self.target is not None:
            from harness.insight.capture import start_insight

            self.start = _run(lambda: start_insight(endpoints.postgres, endpoints.redis))

    def table_reader(self, endpoints: Endpoints) -> Callable[[str], Awaitable[None]] | None:
        """What the clone pool runs, in its own thread, on each clone handed back (before it is reused
        or dropped: a dropped database takes its table statistics along); None when not capturing."""
        if self.target is None:
            return None
        from harness.insight.capture import FAILURES
        from harness.insight.postgres import table_snapshot

        async def keep_tables(name: str) -> None:
            try:
                snapshot = await table_snapshot(endpoints.postgres_dsn(name))
            except FAILURES as exc:  # a test that brought the server down: the rest of the capture still counts
                self.unread.append(f"{name} ({type(exc).__name__}: {exc})")
                return
            if snapshot["oid"] is not None:
                self.snapshots[str(snapshot["oid"])] = snapshot

        return keep_tables

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: a worker's clones' tables."""
        self.snapshots.update(json.loads(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT, "{}")))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.unread:
            warnings.warn(f"insight: tables not read of {', '.join(self.unread)}", stacklevel=1)
        output = getattr(self.config, "workeroutput", None)
        if output is not None:
            output[WORKER_OUTPUT] = json.dumps(self.snapshots, default=str)
            return
        if self.start is None or self.target is None:
            return
        from harness.insight.capture import FAILURES, capture_insight, write_insight

        start = self.start
        try:
            document = _run(lambda: capture_insight(start, snapshots=self.snapshots.values()))
        except FAILURES as exc:
            warnings.warn(f"insight: not captured ({type(exc).__name__}: {exc})", stacklevel=1)
            return
        write_insight(document, self.target)
