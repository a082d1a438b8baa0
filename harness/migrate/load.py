"""The load of `harness migrate rehearse`, and the sampler that sees it wait on locks.

Engine-generic, since the engine knows no domain: clients read a row by primary key and update one
of its non-key columns to itself, in the database's own user tables (the larger a table, the more
of the load it gets), each statement in its own transaction as an application's would be. Every
client names itself LOAD_APPLICATION, which is how the sampler tells its sessions from the
migration's.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from dataclasses import dataclass

import asyncpg

from harness.errors import MigrationError
from harness.migrate.runner import VERSION_SCHEMA
from harness.provision.databases import quote_identifier

LOAD_APPLICATION = "harness rehearse load"
KEYS_PER_TABLE = 1000  # primary keys each table's queries pick from
WRITE_SHARE = 0.25  # of the load's statements, the share that are UPDATEs
SAMPLE_EVERY = 0.025  # seconds between looks at the load's lock waits
SETTLE_POLL = 0.01  # seconds between looks for the statements of a window to have ended
# Tables with a one-column primary key, their estimated rows, and one column an UPDATE may set to
# itself (not part of the key, not generated; NULL when there is none: the table is only read).
TARGETS = f"""
SELECT n.nspname, c.relname, greatest(c.reltuples, 0)::float8 AS reltuples, pk.attname AS key,
       (SELECT a.attname FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
          AND a.attidentity = '' AND a.attnum <> pk.attnum
        ORDER BY a.attnum LIMIT 1) AS settable
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND i.indnkeyatts = 1
JOIN pg_attribute pk ON pk.attrelid = c.oid AND pk.attnum = i.indkey[0]
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', '{VERSION_SCHEMA}')
  AND n.nspname NOT LIKE 'pg\\_%'
"""
# The load's sessions waiting on a lock right now, since when (PostgreSQL 14+: pg_locks.waitstart).
LOCK_WAITS = """
SELECT l.pid, min(l.waitstart) AS since, clock_timestamp() AS seen
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted AND l.waitstart IS NOT NULL AND a.application_name = $1 AND a.datname = current_database()
GROUP BY l.pid
"""


@dataclass(frozen=True)
class Target:
    """One table the load works on: its statements and the keys they pick from."""

    read: str
    write: str | None
    keys: list[object]
    weight: float


@dataclass(frozen=True)
class Query:
    """One statement of the load: when it started and ended (time.monotonic()), and whether it failed."""

    start: float
    end: float
    failed: bool


async def find_targets(conn: asyncpg.Connection) -> list[Target]:
    """The user tables with rows and a one-column primary key, weighted by their estimated size."""
    await conn.execute("ANALYZE")  # reltuples, for the weights
    targets = []
    for row in await conn.fetch(TARGETS):
        table = f"{quote_identifier(row['nspname'])}.{quote_identifier(row['relname'])}"
        key = quote_identifier(row["key"])
        keys = [r[0] for r in await conn.fetch(f"SELECT {key} FROM {table} LIMIT {KEYS_PER_TABLE}")]
        if not keys:
            continue
        write = None
        if row["settable"] is not None:
            column = quote_identifier(row["settable"])
            write = f"UPDATE {table} SET {column} = {column} WHERE {key} = $1"
        targets.append(Target(f"SELECT {key} FROM {table} WHERE {key} = $1", write, keys, row["reltuples"] + 1))
    return targets


class Load:
    """`clients` sessions running statements until stopped, each recorded as a Query.

    Each client owns its own slice of every table's keys, so the load's UPDATEs never wait on
    one another: a lock wait it shows is the migration's doing."""

    def __init__(self, dsn: str, clients: int, query_timeout: float) -> None:
        self.dsn = dsn
        self.clients = clients
        self.query_timeout = query_timeout
        self.targets: list[Target] = []
        self.weights: list[float] = []
        self.queries: list[Query] = []
        self._running: dict[int, float] = {}  # client → when its statement under way started
        self._tasks: list[asyncio.Task[None]] = []
        self._connections: list[asyncpg.Connection] = []

    def retarget(self, targets: list[Target]) -> None:
        """Work on `targets` from now on (between migrations: a table may have come or gone)."""
        self.targets, self.weights = targets, [t.weight for t in targets]

    async def start(self, targets: list[Target]) -> None:
        self.retarget(targets)
        self._connections = [
            await asyncpg.connect(self.dsn, server_settings={"application_name": LOAD_APPLICATION})
            for _ in range(self.clients)
        ]
        self._tasks = [asyncio.create_task(self._client(i, conn)) for i, conn in enumerate(self._connections)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in self._connections:
            conn.terminate()  # a client cancelled mid-statement leaves its connection unusable

    async def settled(self, moment: float) -> None:
        """Wait for every statement that started before `moment` to end (one held back by a lock
        ends when the migration releases it; each gives up after query_timeout anyway)."""
        deadline = moment + 2 * self.query_timeout
        while any(start < moment for start in self._running.values()):
            if time.monotonic() > deadline:
                raise MigrationError(f"load statements still running {2 * self.query_timeout:g} s after the migration")
            await asyncio.sleep(SETTLE_POLL)

    def queries_since(self, moment: float) -> list[Query]:
        """The queries that ended after `moment`; older ones are forgotten."""
        self.queries = [q for q in self.queries if q.end >= moment]
        return list(self.queries)

    async def _client(self, number: int, conn: asyncpg.Connection) -> None:
        chooser = random.Random(number)
        while True:
            target = chooser.choices(self.targets, weights=self.weights)[0]
            keys = target.keys
            key = keys[chooser.randrange(number, len(keys), self.clients)] if number < len(keys) else keys[0]
            statement = target.write if target.write and chooser.random() < WRITE_SHARE else target.read
            start = self._running[number] = time.monotonic()
            try:
                await conn.execute(statement, key, timeout=self.query_timeout)
                failed = False
            except (asyncpg.PostgresError, TimeoutError):
                failed = True  # a dropped table, a changed type, a timeout: what an application would see
            self._running[number] = math.inf
            self.queries.append(Query(start, time.monotonic(), failed))


class LockSampler:
    """Looks at the load's lock waits every SAMPLE_EVERY seconds, keeping each wait (backend and
    the moment it began waiting) with the last moment it was seen still waiting: a wait measured
    so falls short of the real one by less than one interval, never over it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.waits: dict[tuple[int, object], float] = {}  # (pid, waitstart) → seconds waited when last seen
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def sample(self) -> None:
        for row in await self.conn.fetch(LOCK_WAITS, LOAD_APPLICATION):
            self.waits[(row["pid"], row["since"])] = (row["seen"] - row["since"]).total_seconds()

    def start(self) -> None:
        self.waits.clear()
        self._stopping.clear()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> float:
        """Stop sampling (after the look under way: a query cancelled midway would spoil the
        connection), look once more, and return the longest wait seen since start (seconds)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.sample()
        return max(self.waits.values(), default=0.0)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self.sample()
            with contextlib.suppress(TimeoutError):  # time for the next look
                await asyncio.wait_for(self._stopping.wait(), SAMPLE_EVERY)
