"""Loading a dataset: COPY per table, only the rows whose stable ids are missing.

A session advisory lock serialises seeders of one database. Into an empty database (the usual
case: a fresh clone, or after `clean`) the bulk load runs in one transaction: secondary indexes
dropped first and built after every COPY (a bulk build beats row-by-row maintenance, above all for
HNSW), and, where the role may, foreign-key checks and the insert triggers the seed writes itself
(TAKEN_OVER) skipped by `session_replication_role = replica`. A failed bulk load leaves nothing.
Otherwise tables load incrementally, in parallel on a few connections, each as soon as the tables
it references are in, each in one transaction with every check and trigger (a failed load leaves
whole tables, and the next run adds the rest).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

import asyncpg

from betterprompts_db.data.postgres.codecs import register_codecs
from betterprompts_db.seed.dataset import Dataset, Table
from betterprompts_db.seed.errors import SeedConflict, SeedError
from harness.provision.endpoints import redact

SEEDED_SCHEMAS = ["auth", "prompts", "analytics"]
LOCK_KEY = 0x6878_5EED  # pg_advisory_lock key shared by every seeder
CONNECTIONS = 3
BUILD_MEMORY = "1GB"  # maintenance_work_mem for rebuilt indexes: the HNSW graph must fit to build fast

SECONDARY_INDEXES = """
SELECT format('%I.%I', n.nspname, i.relname), pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE x.indrelid = $1::regclass AND t.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.oid)
ORDER BY i.relname
"""


INSERT_TRIGGERS = """
SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal AND tgtype & 4 <> 0
"""  # 4: TRIGGER_TYPE_INSERT; the internal ones are the foreign keys' checks


@dataclass(frozen=True)
class TableLoad:
    """What loading one table did: rows inserted, and seconds from its connection to its commit
    (in a bulk load, its COPY; its indexes' builds, by index name, apart)."""

    inserted: int
    seconds: float
    index_builds: dict[str, float] = field(default_factory=dict)

    @property
    def index_seconds(self) -> float:
        return sum(self.index_builds.values())


@dataclass(frozen=True)
class Derived:
    """Rows a trigger would write for each row inserted, which a bulk load writes itself."""

    table: str
    columns: tuple[str, ...]
    of: Callable[[Any], tuple[Any, ...]]


# insert triggers whose work the seed does itself: history_track_request_id registers each request
# id; saved_prompts_fill_history_created_at fills a column the seed always gives
TAKEN_OVER: dict[str, Derived | None] = {
    "history_track_request_id": Derived(
        "prompts.history_request_ids",
        ("request_id", "history_id", "created_at"),
        attrgetter("request_id", "id", "created_at"),
    ),
    "saved_prompts_fill_history_created_at": None,
}


OnLoaded = Callable[[str, TableLoad], None]  # as each table commits (bulk: is copied, then indexed)


async def load_dataset(
    dsn: str, dataset: Dataset, clean: bool = False, on_loaded: OnLoaded | None = None
) -> dict[str, TableLoad]:
    """Load `dataset` into the database at `dsn`, table by table."""
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass('prompts.history')") is None:
            raise SeedError(f"{redact(dsn)}: prompts.history does not exist: apply the migrations first")
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        if clean:
            await empty_seeded_tables(conn)
        else:
            await refuse_another_world(conn, dataset.table("prompts.history"))
        await create_history_partitions(conn, dataset.world.history_month_starts())
        if await all_empty(conn, await seeded_tables(conn)):
            return await bulk_load(conn, dataset.tables, on_loaded)
        return await load_tables(dsn, dataset.tables, on_loaded)
    finally:
        await conn.close()  # and with it the advisory lock


async def seeded_tables(conn: asyncpg.Connection) -> list[str]:
    """Every table of the BetterPrompts schemas (not harness's version table), partitions as their parent."""
    return list(
        await conn.fetchval(
            """SELECT array_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition""",
            SEEDED_SCHEMAS,
        )
        or []
    )


async def empty_seeded_tables(conn: asyncpg.Connection) -> None:
    """TRUNCATE every seeded table. In the transaction that then loads them, it also spares the COPYs
    writing WAL under wal_level = minimal (the embedded backend's): the new files are synced at commit."""
    tables = await seeded_tables(conn)
    if tables:
        await conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


async def refuse_another_world(conn: asyncpg.Connection, history: Table[Any]) -> None:
    """Rows are found by id; ids are positional, so another profile's (or scale's) history row with
    our id would be silently kept and clash later. Compare a few rows up front instead."""
    columns = ("id", "user_id", "created_at", "original_input")
    sample = [history.rows[n] for n in {0, len(history.rows) // 2, len(history.rows) - 1}] if history.rows else []
    ours = {attrgetter(*columns)(row) for row in sample}
    found = await conn.fetch(
        f"SELECT {', '.join(columns)} FROM prompts.history WHERE id = ANY($1::uuid[])", [row.id for row in sample]
    )
    theirs = {tuple(record) for record in found}
    if theirs - ours:
        raise SeedConflict("prompts.history holds rows of another profile or scale under the same ids: seed with clean")


async def create_history_partitions(conn: asyncpg.Connection, months: list[dt.date]) -> None:
    """A partition per seeded month, unless the default partition already holds rows of that month."""
    for month in months:
        try:
            await conn.execute("SELECT prompts.create_history_partition($1)", month)
        except asyncpg.CheckViolationError:
            continue  # rows of this month sit in history_default; seeded ones will join them


async def load_tables(
    dsn: str, tables: tuple[Table[Any], ...], on_loaded: OnLoaded | None = None
) -> dict[str, TableLoad]:
    """Each table on its own connection (at most CONNECTIONS at once), after the tables it references."""
    loaded = {t.qualified: asyncio.Event() for t in tables}
    slots = asyncio.Semaphore(CONNECTIONS)
    done: dict[str, TableLoad] = {}

    async def load(table: Table[Any]) -> None:
        for dependency in table.depends_on:
            await loaded[dependency].wait()
        async with slots:
            started = time.perf_counter()
            conn = await asyncpg.connect(dsn)
            try:
                inserted = await load_table(conn, table)
            finally:
                await conn.close()
            done[table.qualified] = TableLoad(inserted, time.perf_counter() - started)
        loaded[table.qualified].set()
        if on_loaded is not None:
            on_loaded(table.qualified, done[table.qualified])

    async with asyncio.TaskGroup() as group:
        for table in tables:
            group.create_task(load(table))
    return {t.qualified: done[t.qualified] for t in tables}


async def load_table(conn: asyncpg.Connection, table: Table[Any]) -> int:
    """COPY the table's records missing by id, each as the tuple of its columns (the record's fields)."""
    await register_codecs(conn)  # the records hold JSON as Python objects and vectors as arrays
    try:
        async with conn.transaction():
            rows = table.rows
            if await conn.fetchval(f"SELECT EXISTS (SELECT FROM {table.qualified})"):
                found = await conn.fetch(f"SELECT id FROM {table.qualified} WHERE id = ANY($1::uuid[])",
                                         [row.id for row in rows])  # fmt: skip
                present = {record[0] for record in found}
                rows = [row for row in rows if row.id not in present]
            await copy_rows(conn, table, rows)
            return len(rows)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise SeedConflict(f"{table.qualified}: {exc.constraint_name or ''}: {exc.detail or exc}") from exc


async def copy_rows(conn: asyncpg.Connection, table: Table[Any], rows: Sequence[Any]) -> None:
    """COPY (binary) each record as the tuple of its columns (the record's fields)."""
    if rows:
        await conn.copy_records_to_table(
            table.name, schema_name=table.schema, columns=table.columns, records=map(attrgetter(*table.columns), rows)
        )


async def all_empty(conn: asyncpg.Connection, tables: list[str]) -> bool:
    exists = " OR ".join(f"EXISTS (SELECT FROM {name})" for name in tables)
    return not await conn.fetchval(f"SELECT {exists}")


async def bulk_load(
    conn: asyncpg.Connection, tables: tuple[Table[Any], ...], on_loaded: OnLoaded | None
) -> dict[str, TableLoad]:
    """Every table into an empty database in one transaction, secondary indexes built last."""
    await register_codecs(conn)  # the records hold JSON as Python objects and vectors as arrays
    loads: dict[str, TableLoad] = {}
    try:
        async with conn.transaction():
            await empty_seeded_tables(conn)
            rebuild = {t.qualified: await drop_secondary_indexes(conn, t.qualified) for t in tables}
            may_skip = await conn.fetchval("SELECT has_parameter_privilege('session_replication_role', 'SET')")
            for table in tables:
                started = time.perf_counter()
                derived = await taken_over(conn, table.qualified) if may_skip else None
                role = "origin" if derived is None else "replica"  # replica: no FK checks, no triggers
                await conn.execute(f"SET LOCAL session_replication_role = {role}")
                await copy_rows(conn, table, table.rows)
                for extra in derived or ():
                    schema, name = extra.table.split(".")
                    await conn.copy_records_to_table(
                        name, schema_name=schema, columns=extra.columns, records=map(extra.of, table.rows)
                    )
                loads[table.qualified] = TableLoad(len(table.rows), time.perf_counter() - started)
                if on_loaded is not None:
                    on_loaded(table.qualified, loads[table.qualified])
            await conn.execute("SET LOCAL session_replication_role = origin")
            await conn.execute(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
            for table in tables:
                builds = {}
                for name, definition in rebuild[table.qualified]:
                    started = time.perf_counter()
                    await conn.execute(definition)
                    builds[name] = time.perf_counter() - started
                loads[table.qualified] = replace(loads[table.qualified], index_builds=builds)
                if builds and on_loaded is not None:
                    on_loaded(table.qualified, loads[table.qualified])
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise SeedConflict(f"{exc.table_name or 'a table'}: {exc.constraint_name or ''}: {exc.detail or exc}") from exc
    return loads


async def taken_over(conn: asyncpg.Connection, table: str) -> list[Derived] | None:
    """What the seed must write for `table`'s insert triggers to be skipped; None when one of them
    is not the seed's to take over (the table then loads with every trigger and check)."""
    triggers = [record[0] for record in await conn.fetch(INSERT_TRIGGERS, table)]
    if any(name not in TAKEN_OVER for name in triggers):
        return None
    return [derived for name in triggers if (derived := TAKEN_OVER[name]) is not None]


async def drop_secondary_indexes(conn: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """Drop `table`'s indexes that back no constraint; return each one's name and the statement
    that recreates it (on a partitioned table, with its partitions' indexes)."""
    indexes = await conn.fetch(SECONDARY_INDEXES, table)
    for name, _ in indexes:
        await conn.execute(f"DROP INDEX {name}")
    return [(name, definition.replace(" ON ONLY ", " ON ", 1)) for name, definition in indexes]
