"""Apply and roll back migrations against one database, serialised by an advisory lock.

The version table lives in its own schema. Each migration runs in one transaction together with
its version row, so a failure leaves neither; a changed applied file is refused before anything
runs. Consecutive transactional migrations travel in one message, each still in its own
BEGIN … version row … COMMIT (Flyway's per-migration transactions, minus a round trip each): the
server stops at the first error, so the ones before it stay applied and nothing of it does. The
migrations of a failed message that did not commit then run one at a time, so the failure is
reported (and located) as for a migration run alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from harness.defaults import MIGRATE_LOCK_WAIT
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
MESSAGE_CHARS = 1 << 20  # SQL of migrations sent in one message, at most (one larger goes alone)
STARTED = "harness.migration_started"  # when the running migration began, in epoch seconds
MARK_START = f"SELECT set_config('{STARTED}', extract(epoch FROM clock_timestamp())::text, false)"
# as MARK_START left it; else (a RESET ALL in the migration) the start of the message
STARTED_AT = (
    f"coalesce(nullif(current_setting('{STARTED}', true), '')::numeric, extract(epoch FROM statement_timestamp()))"
)


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
        except BaseException:
            # a migration interrupted midway (Ctrl-C) leaves its transaction aborted, where the unlock
            # would fail and hide the interruption; the driver may not know it yet, so end it blindly
            await self.conn.execute("ROLLBACK")
            raise
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

    async def up(
        self, to: int | None = None, drop_invalid: bool = False, lint: Callable[[list[Migration]], object] | None = None
    ) -> list[Step]:
        """Apply the pending migrations (up to `to`); `lint` sees them first, and may raise to stop."""
        async with self.locked():
            await self._invalid_indexes(drop_invalid)
            await self.conn.execute(CREATE_VERSION_TABLE)
            steps = self.plan_up(await self.applied(), to)
            if lint is not None and steps:
                lint([step.migration for step in steps])
            await self._run_all(steps)
            return steps

    async def down(self, to: int | None = None, steps: int | None = None) -> list[Step]:
        async with self.locked():
            plan = self.plan_down(await self.applied(), to, steps)
            await self._run_all(plan)
            return plan

    async def _run_all(self, steps: list[Step]) -> None:
        for group in _messages(steps):
            if group[0].script.transactional:
                await self._run_together(group)
            else:
                await self._run_alone(group[0])

    async def _run_together(self, group: list[Step]) -> None:
        """Transactional migrations in one message; a failure is reported as for the first of them
        that did not commit, run alone."""
        message, starts = _message(group)
        try:
            await self.conn.execute(message)
        except asyncpg.PostgresError as exc:
            if self.conn.is_in_transaction():
                await self.conn.execute("ROLLBACK")
            if len(group) == 1:
                raise await _failure(self.conn, group[0].script, exc, -starts[0]) from exc
            applied = await self.applied()
            for step in group:
                if (step.migration.version in applied) != (step.direction == "up"):  # not done yet
                    await self._run_together([step])

    async def _run_alone(self, step: Step) -> None:
        """A no-transaction migration: statement by statement, then its version row."""
        script = step.script
        await self.conn.execute(MARK_START)
        for offset, statement in split_statements(script.sql):
            try:
                await self.conn.execute(statement)
            except asyncpg.PostgresError as exc:
                raise await _failure(self.conn, script, exc, offset, statement) from exc
        await self.conn.execute(version_row(step))


def _messages(steps: list[Step]) -> Iterator[list[Step]]:
    """Consecutive transactional steps up to MESSAGE_CHARS of SQL together; a no-transaction one alone."""
    group: list[Step] = []
    size = 0
    for step in steps:
        if group and not (step.script.transactional and size + len(step.script.sql) <= MESSAGE_CHARS):
            yield group
            group, size = [], 0
        group.append(step)
        size += len(step.script.sql)
        if not step.script.transactional:
            yield group
            group, size = [], 0
    if group:
        yield group


def _message(group: list[Step]) -> tuple[str, list[int]]:
    """The SQL that runs `group`, each step in its own transaction with its version row, and where
    each step's script begins in it."""
    parts: list[str] = []
    starts: list[int] = []
    size = 0
    for step in group:
        head = f"BEGIN;\n{MARK_START};\n"
        tail = f"\n;\n{version_row(step)};\nCOMMIT;\n"  # a newline ends a final -- comment
        starts.append(size + len(head))
        parts += [head, step.script.sql, tail]
        size += len(head) + len(step.script.sql) + len(tail)
    return "".join(parts), starts


def version_row(step: Step) -> str:
    """The statement that records `step` done: the up's version row (its start and duration read
    from MARK_START's setting), or the down's removal of it."""
    m = step.migration
    if step.direction == "down":
        return f"DELETE FROM {VERSION_TABLE} WHERE version = {m.version:d}"
    return (
        f"INSERT INTO {VERSION_TABLE} (version, name, sha256, applied_at, duration_ms) VALUES ({m.version:d}, "
        f"{_literal(m.name)}, {_literal(m.sha256)}, to_timestamp({STARTED_AT}), "
        f"1000 * (extract(epoch FROM clock_timestamp()) - {STARTED_AT}))"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def _failure(
    conn: asyncpg.Connection, script: Script, exc: asyncpg.PostgresError, start: int, statement: str | None = None
) -> MigrationFailed:
    """`exc`, naming file and line: from the server's position in the SQL sent, which begins at
    character `start` of the script (before it, negative, for a message that wraps it), else from
    the failed statement of a no-transaction script, else by replaying the script."""
    position = getattr(exc, "position", None)
    if position:
        line: int | None = line_of(script.sql, start + int(position) - 1)
    elif statement is not None:
        line = line_of(script.sql, start + len(statement) - len(statement.lstrip()))
    else:
        line = await locate_failure(conn, script)
    parts = [f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"]
    parts += [f"{key}: {value}" for key in ("detail", "hint") if (value := getattr(exc, key, None))]
    if statement is not None and start:
        parts.append("earlier statements of this no-transaction migration stay applied")
    return MigrationFailed(str(script.path), line, "; ".join(parts))


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
