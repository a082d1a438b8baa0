"""A slot of `harness mutate`: one pytest session that collects once and then runs task after task
from the queue, each against its own mutated template, without a new process or new servers.

Loaded with `-p harness.mutate.session --mutation-queue DIR --mutation-slot N`. Per task: the
task's settings are put in the environment (HARNESS_TEMPLATE_MUTATION, a Redis artifact's path),
the run's servers are found again (HARNESS_REUSE) and the mutated template built from the
unmutated one; the chosen tests run through pytest's own protocol (fixtures, timeouts, capture);
then every fixture is torn down, session ones included, so the next task starts clean, and the
mutated template is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis

from harness.isolation.run import prepare_run
from harness.isolation.template import drop_template
from harness.mutate.queue import Failure, Task, TaskQueue, TaskResult
from harness.provision import Endpoints, Environment
from harness.pytest_plugin import ENVIRONMENT, RUN_STATE, settings_from

WORD = re.compile(r"[a-z_][a-z0-9_]*")
TEMPLATE_FIXTURES = frozenset({"clone_pool", "private_environment"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness-mutate", "a slot of `harness mutate`")
    group.addoption("--mutation-queue", default=None, help="the queue directory of a `harness mutate` run")
    group.addoption("--mutation-slot", type=int, default=0, help="this slot's number")


def judges(item: pytest.Item, task: Task) -> bool:
    """Whether `item` can see what the task changes: for the template, a test whose fixtures reach
    it; for Redis, a test that uses a Redis client or whose module speaks of Redis or the keyspace."""
    names = set(getattr(item, "fixturenames", ()))
    template = bool(names & TEMPLATE_FIXTURES)
    speaks_redis = "redis_client" in names or _speaks_of_redis(str(item.path))
    return {"template": template, "redis": speaks_redis, "judges": template or speaks_redis}.get(task.channel, True)


@functools.cache
def _speaks_of_redis(path: str) -> bool:
    text = Path(path).read_text(errors="replace").lower()
    return "redis" in text or "keyspace" in text


def folder_of(nodeid: str) -> str:
    return nodeid.split("::")[0].rpartition("/")[0]


def chosen_items(items: list[pytest.Item], task: Task) -> list[pytest.Item]:
    excluded = set(task.exclude)
    candidates = [
        i for i in items if i.nodeid not in excluded and i.nodeid.partition("[")[0] not in excluded and judges(i, task)
    ]
    if task.tests is None:
        return candidates
    order = {nodeid: rank for rank, nodeid in enumerate(task.tests)}
    ranked = []
    for item in candidates:
        rank = order.get(item.nodeid, order.get(item.nodeid.partition("[")[0]))
        if rank is not None:
            ranked.append((rank, item))
    return [item for _, item in sorted(ranked, key=lambda pair: pair[0])]


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pytest_configure(config: pytest.Config) -> None:
    directory = config.getoption("mutation_queue", default=None)
    if directory is not None:
        config.pluginmanager.register(Slot(TaskQueue(Path(directory)), config.getoption("mutation_slot")))


class Slot:
    """The task loop, in place of pytest's own run over the collected items."""

    def __init__(self, queue: TaskQueue, number: int) -> None:
        self.queue = queue
        self.number = number
        self.failures: list[Failure] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        parent = os.getppid()
        while (task := self.queue.next_task(self.number, lambda: os.getppid() == parent)) is not None:
            self.queue.complete(self.run(session, task))
        return True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and not hasattr(report, "wasxfail"):
            self.failures.append(Failure(report.nodeid, summary(report)))

    def run(self, session: pytest.Session, task: Task) -> TaskResult:
        started = time.monotonic()
        result = TaskResult(task.seq, task.id)
        self.failures = []
        with environment(task.env | {"HARNESS_TEMPLATE_MUTATION": task.mutation}):
            try:
                env, state = asyncio.run(prepare_run(settings_from(session.config)))
            except Exception as exc:  # the mutated artifacts do not even start or build
                result.error = f"{type(exc).__name__}: {exc}"
                result.seconds = time.monotonic() - started
                return result
            session.config.stash[RUN_STATE] = state
            session.config.stash[ENVIRONMENT] = env
            try:
                self.run_items(session, task, chosen_items(session.items, task), result)
            except pytest.exit.Exception as exc:  # a fixture's start-up boundary gave up
                result.error = f"the session would have ended: {exc.msg}"
                with contextlib.suppress(Exception):
                    session._setupstate.teardown_exact(None)
            finally:
                del session.config.stash[ENVIRONMENT]
                del session.config.stash[RUN_STATE]
                asyncio.run(release(env, state.template if task.mutation else None))
        result.failures = list(self.failures)
        result.seconds = time.monotonic() - started
        return result

    def run_items(self, session: pytest.Session, task: Task, items: list[pytest.Item], result: TaskResult) -> None:
        remaining: dict[str, int] = {}
        for item in items:
            remaining[folder_of(item.nodeid)] = remaining.get(folder_of(item.nodeid), 0) + 1
        tracer = StatementTracer(session.config.stash[RUN_STATE].endpoints) if task.trace else None
        try:
            self._run_items(session, task, items, result, remaining, tracer)
        finally:
            if tracer is not None:
                tracer.close()
        result.unfinished = sorted(f for f, n in remaining.items() if n and not result.folders.get(f, [0, 0])[1])

    def _run_items(
        self, session: pytest.Session, task: Task, items: list[pytest.Item], result: TaskResult,
        remaining: dict[str, int], tracer: StatementTracer | None,
    ) -> None:  # fmt: skip
        nextitem: pytest.Item | None = None
        for index, item in enumerate(items):
            nextitem = items[index + 1] if index + 1 < len(items) else None
            self.queue.note_progress(self.number, f"{task.seq} {task.id} {item.nodeid}")
            before = len(self.failures)
            if tracer is not None:
                tracer.reset()
            started = time.monotonic()
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            seconds = time.monotonic() - started
            path = item.nodeid.split("::")[0]
            result.file_seconds[path] = result.file_seconds.get(path, 0.0) + seconds
            if tracer is not None:
                result.traces[item.nodeid] = tracer.words()
                if tracer.used_redis():
                    result.redis_users.append(item.nodeid)
                result.test_seconds[item.nodeid] = seconds
            folder = folder_of(item.nodeid)
            counts = result.folders.setdefault(folder, [0, 0])
            counts[0] += 1
            counts[1] += len(self.failures) > before
            remaining[folder] -= 1
            result.tests += 1
            if task.stop == "first" and self.failures:
                break
        if nextitem is not None:  # stopped early: tear down the session's fixtures too, so the next task starts clean
            session._setupstate.teardown_exact(None)


class StatementTracer:
    """What each test did on the slot's servers: the words of the SQL it ran (pg_stat_statements,
    which every embedded server preloads) — a map from tests to the tables, columns and functions
    they use — and whether it sent Redis any command."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.loop.run_until_complete(asyncpg.connect(endpoints.postgres))
        self.loop.run_until_complete(self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        self.redis = redis.Redis.from_url(endpoints.redis)
        self.commands = 0

    def reset(self) -> None:
        self.loop.run_until_complete(self.conn.execute("SELECT pg_stat_statements_reset()"))
        self.commands = self._redis_commands()

    def _redis_commands(self) -> int:
        return int(self.redis.info("stats")["total_commands_processed"])

    def words(self) -> list[str]:
        rows = self.loop.run_until_complete(self.conn.fetch("SELECT query FROM pg_stat_statements"))
        return sorted({word for row in rows for word in WORD.findall(row["query"].lower())})

    def used_redis(self) -> bool:
        return self._redis_commands() - self.commands > 1  # our own INFO counts once

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()
        self.redis.close()


def summary(report: pytest.TestReport) -> str:
    text = str(report.longrepr or "")
    lines = [line for line in text.splitlines() if line.startswith("E ") or "Timeout" in line]
    return (f"{report.when}: " + " / ".join(line.removeprefix("E").strip() for line in lines[:3]))[:500]


async def release(env: Environment, mutated_template: str | None) -> None:
    """Drop the task's mutated template (the reused servers stay); end the task's own servers."""
    if mutated_template is not None and env.alive():
        admin = await asyncpg.connect(env.endpoints.postgres)
        try:
            await drop_template(admin, mutated_template)
        finally:
            await admin.close()
    await env.close()
