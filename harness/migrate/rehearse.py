"""`rehearse`: apply each pending migration to a seeded scratch database while a load runs, and
measure what the load felt: how long its queries waited on the migration's locks, and its p95
latency and errors during the migration against a baseline window just before it. squawk says
which statements may lock; this measures whether they do, and for how long.

Written as `rehearsal.json` for `harness report`, whose reader (harness.report.rehearsal) reads
the same shape without importing this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import asyncpg

from harness.errors import MigrationError, MigrationFailed
from harness.migrate.files import Migration
from harness.migrate.load import Load, LockSampler, Query, find_targets
from harness.migrate.runner import APPLICATION_NAME, MigrationRunner
from harness.migrate.verify import scratch_database
from harness.provision.endpoints import with_database

REHEARSAL_FILE = "rehearsal.json"
Outcome = Literal["applied", "lock_timeout", "failed", "not run"]  # "not run": one before it did not apply


@dataclass(frozen=True)
class Window:
    """The load's statements in one window: how many, how many failed, their p95 and slowest latency."""

    queries: int
    errors: int
    p95_ms: float | None
    max_ms: float | None


NO_LOAD = Window(0, 0, None, None)


@dataclass(frozen=True)
class Rehearsed:
    """One migration applied under load."""

    version: int
    label: str
    outcome: Outcome
    wall_s: float
    longest_lock_wait_s: float  # the longest any load statement waited on a lock while it ran
    before: Window
    during: Window
    message: str = ""


@dataclass
class Rehearsal:
    """Every rehearsed migration, and the settings they were judged by."""

    from_version: int
    clients: int
    baseline_s: float
    max_block_s: float
    lock_timeout_s: float | None
    migrations: list[Rehearsed] = field(default_factory=list)

    def failures(self) -> list[str]:
        """Why the rehearsal fails, one line each: a migration that kept the load waiting on a lock
        longer than max_block_s, one that lock_timeout stopped, one that failed."""
        reasons = []
        for m in self.migrations:
            if self.blocked(m):
                waited = f"{m.longest_lock_wait_s:.2f} s (limit {self.max_block_s:g} s)"
                reasons.append(f"{m.label} kept application queries waiting on a lock for {waited}")
            if m.outcome == "lock_timeout":
                reasons.append(f"{m.label} was stopped by lock_timeout ({self.lock_timeout_s:g} s) under load")
            elif m.outcome == "failed":
                reasons.append(f"{m.label} failed: {m.message}")
        return reasons

    def blocked(self, m: Rehearsed) -> bool:
        """Whether `m` kept a load statement waiting on a lock longer than max_block_s."""
        return m.longest_lock_wait_s > self.max_block_s

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**asdict(self), "failures": self.failures()}, indent=2) + "\n")
        return path


async def starting_version(dsn: str, migrations: Sequence[Migration]) -> int:
    """Where a rehearsal starts by default: the newest version the database of `dsn` has applied,
    so its pending migrations are rehearsed; with none applied (a server's `postgres` database),
    the one before the last migration, so the last is."""
    conn = await asyncpg.connect(dsn, server_settings={"application_name": APPLICATION_NAME})
    try:
        applied = await MigrationRunner(conn, migrations).applied()
    finally:
        await conn.close()
    if applied:
        return max(applied)
    return migrations[-2].version if len(migrations) > 1 else 0


async def rehearse_migrations(
    dsn: str,
    migrations: Sequence[Migration],
    start: int,
    *,
    max_block: float,
    query_timeout: float,
    seed: Callable[[str], Awaitable[None]] | None = None,
    clients: int = 8,
    baseline: float = 3.0,
    lock_timeout: float | None = None,
    scratch: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Rehearsal:
    """In a scratch database `scratch` (created and dropped here, on the server of `dsn`): apply
    the migrations up to version `start`, load `seed` into it, start `clients` load sessions, then
    apply each later migration alone, a `baseline` seconds' window of load before each, with
    `lock_timeout` (seconds) on the migration's session. The load's statements give up after
    `query_timeout` seconds. A migration that fails or is stopped by lock_timeout ends the rehearsal
    (those after it are "not run")."""
    pending = [m for m in migrations if m.version > start]
    if not pending:
        last = migrations[-1]
        raise MigrationError(f"nothing to rehearse after version {start}: the last migration is {last.label}")
    say = progress or (lambda line: None)
    name = scratch or f"hx_rehearse_{secrets.token_hex(4)}"
    rehearsal = Rehearsal(start, clients, baseline, max_block, lock_timeout)
    async with scratch_database(dsn, name) as conn, contextlib.AsyncExitStack() as stack:
        target = with_database(dsn, name)
        settings = {"application_name": APPLICATION_NAME}
        if lock_timeout is not None:
            settings["lock_timeout"] = f"{math.ceil(lock_timeout * 1000)}ms"
        migrator = await asyncpg.connect(target, server_settings=settings)
        stack.push_async_callback(migrator.close)
        runner = MigrationRunner(migrator, migrations)
        if start:
            say(f"applying the migrations up to version {start}")
            await runner.up(to=start)
        if seed is not None:
            say("seeding")
            try:
                await seed(target)
            except asyncpg.PostgresError as exc:  # a seed written for a later schema
                raise MigrationError(
                    f"the seed failed on the schema at version {start}: {type(exc).__name__}: {exc.message}; "
                    "rehearse from a later version, or without a seed"
                ) from exc
        targets = await find_targets(conn)
        if not targets:
            raise MigrationError(
                f"at version {start} no table has rows and a one-column primary key for the load to work on: "
                "seed one, or rehearse from a later version"
            )
        load = Load(target, clients, query_timeout)
        await load.start(targets)
        stack.push_async_callback(load.stop)
        sampler = LockSampler(conn)
        stack.push_async_callback(sampler.stop)
        for m in pending:
            if rehearsal.migrations and rehearsal.migrations[-1].outcome != "applied":
                rehearsal.migrations.append(Rehearsed(m.version, m.label, "not run", 0, 0, NO_LOAD, NO_LOAD))
                continue
            say(f"{m.label}: {baseline:g} s of load before it, then the migration")
            rehearsal.migrations.append(await _rehearse_one(m, runner, load, sampler, baseline, conn))
    return rehearsal


async def _rehearse_one(
    m: Migration, runner: MigrationRunner, load: Load, sampler: LockSampler, baseline: float, conn: asyncpg.Connection
) -> Rehearsed:
    load.retarget(await find_targets(conn) or load.targets)
    opened = time.monotonic()
    await asyncio.sleep(baseline)  # the baseline window: a measurement, not a wait for anything
    sampler.start()
    began = time.monotonic()
    outcome: Outcome = "applied"
    message = ""
    try:
        await runner.up(to=m.version)
    except MigrationFailed as exc:
        stopped = isinstance(exc.__cause__, asyncpg.LockNotAvailableError)
        outcome, message = ("lock_timeout" if stopped else "failed"), str(exc)
    ended = time.monotonic()
    longest = await sampler.stop()
    await load.settled(ended)
    queries = load.queries_since(opened)
    before = _window([q for q in queries if q.start >= opened and q.end <= began])
    during = _window([q for q in queries if q.start < ended and q.end > began])
    return Rehearsed(m.version, m.label, outcome, ended - began, longest, before, during, message)


def _window(queries: list[Query]) -> Window:
    durations = sorted(q.end - q.start for q in queries)
    if not durations:
        return NO_LOAD
    p95 = durations[math.ceil(0.95 * len(durations)) - 1]
    return Window(len(queries), sum(q.failed for q in queries), p95 * 1000, durations[-1] * 1000)
