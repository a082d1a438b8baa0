"""Apply and roll back migrations against one database, serialised by an advisory lock.

The version table lives in its own schema. Each migration runs in one transaction together with
its version row, so a failure leaves neither; a changed applied file is refused before anything
runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from harness.config import MIGRATE_LOCK_WAIT
from harness.errors import ChecksumMismatch, MigrationError, MigrationFailed
from harness.migrate.files import Migration, Script
from harness.migrate.sql import line_of, split_statements

VERSION_SCHEMA = "harness"
VERSION_TABLE = f"{VERSION_SCHEMA}.schema_migrations"
LOCK_KEY = 0x6861726E657373  # "harness": one lock for every runner of this database
LOCK_PAUSES = (0.02, 0.5)  # seconds between tries for the lock: the first, and the longest
APPLICATION_NAME = "harness migrate"  # how a runner's session shows in pg_stat_activity
LOCK_HOLDER = """
SELECT a.pid, a.application_name, a.client_addr, a.backend_start, a.query
FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1"""
# indexes an interrupted CREATE INDEX CONCURRENTLY left INVALID (not ones being built right now)
INVALID_INDEXES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND i.indexrelid NOT IN (SELECT index_relid FROM pg_stat_progress_create_index)
ORDER BY 1"""
CREATE_VERSION_TABLE = f"""
CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA};
CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    sha256      text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms double precision NOT NULL
);
REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC;
"""


@dataclass(frozen=True)
class AppliedRow:
    version: int
    name: str
    sha256: str
    applied_at: datetime
    duration_ms: float


@dataclass(frozen=True)
class MigrationStatus:
    version: int
    name: str
    state: str  # applied | pending | changed | missing
    applied_at: datetime | None
    duration_ms: float | None


@dataclass(frozen=True)
class Step:
    """One script the runner runs (or, in a dry run, would run)."""

    migration: Migration
    direction: str  # up | down

    @property
    def script(self) -> Script:
        return self.migration.up if self.direction == "up" else self.migration.down


class MigrationRunner:
    """Migrations of one directory against one connection."""

    def __init__(
        self, conn: asyncpg.Connection, migrations: Sequence[Migration], lock_wait: float = MIGRATE_LOCK_WAIT
    ) -> None:
        self.conn = conn
        self.migrations = list(migrations)
        self.lock_wait = lock_wait

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Hold the session advisory lock: concurrent runners wait their turn.

        A runner waits by trying again, never blocked inside pg_advisory_lock: a blocked statement
        holds a snapshot, and a CREATE INDEX CONCURRENTLY run by the holder waits for every older
        snapshot to end, which would be a deadlock."""
        deadline = time.monotonic() + self.lock_wait
        pause = LOCK_PAUSES[0]
        while not await self.conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            left = deadline - time.monotonic()
            if left <= 0:
                raise MigrationError(
                    f"waited {self.lock_wait:g} s for the migration lock: {await self._lock_holder()}; "
                    "wait for it to finish, or raise HARNESS_MIGRATE_LOCK_WAIT"
                )
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, LOCK_PAUSES[1])
        try:
            yield
        finally:
            await self.conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)

    async def _lock_holder(self) -> str:
        row = await self.conn.fetchrow(LOCK_HOLDER, LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)
        if row is None:
            return "it was released just now"
        where = f" from {row['client_addr']}" if row["client_addr"] else ""
        return (
            f"held by pid {row['pid']} ({row['application_name'] or 'no application_name'}{where}, connected "
            f"{row['backend_start']:%Y-%m-%d %H:%M:%S %Z}), running: {' '.join(row['query'].split())[:120]}"
        )

    async def _invalid_indexes(self, drop: bool) -> None:
        """Refuse to go on over INVALID indexes (a migration that builds one again fails on "already
        exists", one with IF NOT EXISTS silently keeps it), or drop them when asked."""
        invalid = [row[0] for row in await self.conn.fetch(INVALID_INDEXES)]
        if invalid and not drop:
            raise MigrationError(
                f"INVALID index(es) {', '.join(invalid)}, left by an interrupted CREATE INDEX CONCURRENTLY: "
                "run `harness migrate up --drop-invalid` to drop them and build them again"
            )
        for name in invalid:
            await self.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")

    async def applied(self) -> dict[int, AppliedRow]:
        exists = await self.conn.fetchval("SELECT to_regclass($1) IS NOT NULL", VERSION_TABLE)
        if not exists:
            return {}
        rows = await self.conn.fetch(f"SELECT version, name, sha256, applied_at, duration_ms FROM {VERSION_TABLE}")
        return {row["version"]: AppliedRow(**dict(row)) for row in rows}

    async def status(self) -> list[MigrationStatus]:
        applied = await self.applied()
        result = []
        for m in self.migrations:
            row = applied.pop(m.version, None)
            if row is None:
                result.append(MigrationStatus(m.version, m.name, "pending", None, None))
            else:
                state = "applied" if row.sha256 == m.sha256 else "changed"
                result.append(MigrationStatus(m.version, m.name, state, row.applied_at, row.duration_ms))
        for row in applied.values():
            result.append(MigrationStatus(row.version, row.name, "missing", row.applied_at, row.duration_ms))
        return sorted(result, key=lambda s: s.version)

    def check_applied(self, applied: dict[int, AppliedRow]) -> None:
        by_version = {m.version: m for m in self.migrations}
        for version, row in sorted(applied.items()):
            m = by_version.get(version)
            if m is None:
                raise MigrationError(f"version {version} ({row.name}) is applied but its file is missing")
            if m.sha256 != row.sha256:
                raise ChecksumMismatch(
                    f"{m.up.path} has changed since it was applied (sha256 {row.sha256[:12]} → {m.sha256[:12]}); "
                    "write a new migration instead of editing an applied one"
                )

    def plan_up(self, applied: dict[int, AppliedRow], to: int | None = None) -> list[Step]:
        self.check_applied(applied)
        pending = [m for m in self.migrations if m.version not in applied and (to is None or m.version <= to)]
        if pending and applied and pending[0].version < max(applied):
            raise MigrationError(
                f"{pending[0].up.path} is older than the newest applied version {max(applied)}: "
                "renumber it after the applied ones"
            )
        return [Step(m, "up") for m in pending]

    def plan_down(self, applied: dict[int, AppliedRow], to: int | None = None, steps: int | None = None) -> list[Step]:
        if (to is None) == (steps is None):
            raise MigrationError("down needs exactly one of --to VERSION or --steps N")
        self.check_applied(applied)
        by_version = {m.version: m for m in self.migrations}
        targets = sorted(applied, reverse=True)
        targets = targets[:steps] if steps is not None else [v for v in targets if to is not None and v > to]
        return [Step(by_version[v], "down") for v in targets]

    async def up(self, to: int | None = None, drop_invalid: bool = False) -> list[Step]:
        async with self.locked():
            await self._invalid_indexes(drop_invalid)
            await self.conn.execute(CREATE_VERSION_TABLE)
            steps = self.plan_up(await self.applied(), to)
            for step in steps:
                await self._run(step)
            return steps

    async def down(self, to: int | None = None, steps: int | None = None) -> list[Step]:
        async with self.locked():
            plan = self.plan_down(await self.applied(), to, steps)
            for step in plan:
                await self._run(step)
            return plan

    async def _run(self, step: Step) -> None:
        script = step.script
        started = time.perf_counter()
        if script.transactional:
            try:
                async with self.conn.transaction():
                    await _execute(self.conn, script, script.sql, None)
                    await self._record(step, started)
            except MigrationFailed as failure:
                if failure.line is None:
                    failure.line = await locate_failure(self.conn, script)
                raise
        else:
            for offset, statement in split_statements(script.sql):
                await _execute(self.conn, script, statement, offset)
            await self._record(step, started)

    async def _record(self, step: Step, started: float) -> None:
        m = step.migration
        if step.direction == "up":
            await self.conn.execute(
                f"INSERT INTO {VERSION_TABLE} (version, name, sha256, duration_ms) VALUES ($1, $2, $3, $4)",
                m.version, m.name, m.sha256, (time.perf_counter() - started) * 1000,
            )  # fmt: skip
        else:
            await self.conn.execute(f"DELETE FROM {VERSION_TABLE} WHERE version = $1", m.version)


async def _execute(conn: asyncpg.Connection, script: Script, sql: str, offset: int | None) -> None:
    """Run `sql` (the whole script, or one statement of it at `offset`); failures name file and line."""
    try:
        await conn.execute(sql)
    except asyncpg.PostgresError as exc:
        position = getattr(exc, "position", None)
        if position:
            line: int | None = line_of(script.sql, (offset or 0) + int(position) - 1)
        elif offset is not None:
            line = line_of(script.sql, offset + len(sql) - len(sql.lstrip()))
        else:
            line = None
        parts = [f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"]
        parts += [f"{key}: {value}" for key in ("detail", "hint") if (value := getattr(exc, key, None))]
        if offset:
            parts.append("earlier statements of this no-transaction migration stay applied")
        raise MigrationFailed(str(script.path), line, "; ".join(parts)) from exc


async def locate_failure(conn: asyncpg.Connection, script: Script) -> int | None:
    """The line of the statement that fails, found by replaying the script one statement at a time
    in a transaction that is rolled back (the server reports no position for many errors)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        for offset, statement in split_statements(script.sql):
            try:
                await conn.execute(statement)
            except asyncpg.PostgresError:
                return line_of(script.sql, offset + len(statement) - len(statement.lstrip()))
        return None
    finally:
        await transaction.rollback()
