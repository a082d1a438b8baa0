"""Loading a world: COPY (binary) batch by batch, only the rows whose stable ids are missing.

A session advisory lock serialises seeders of one database. Into an empty database (the usual
case: a fresh clone, or after `clean`) the bulk load runs in one transaction: the tables truncated
(under wal_level = minimal their COPYs then write no WAL), secondary indexes dropped first and
built after every COPY (a bulk build beats row-by-row maintenance, above all for HNSW), and, where
the role may, foreign-key checks and the insert triggers the seed writes itself (TAKEN_OVER)
skipped by `session_replication_role = replica`. A failed bulk load leaves nothing. Otherwise each
batch loads incrementally in a transaction of its own, with every check and trigger, after the
rows it references (a failed load leaves whole batches, and the next run adds the rest).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Protocol

import asyncpg

from betterprompts_db.data.postgres.codecs import register_codecs
from betterprompts_db.data.postgres.records import HistoryEntry
from betterprompts_db.seed.binary_copy import ColumnType, Encoder, column_types, copy_columns, encoders_of
from betterprompts_db.seed.dataset import Table
from betterprompts_db.seed.errors import SeedConflict, SeedError
from betterprompts_db.seed.profiles import World
from harness.provision.endpoints import redact

SEEDED_SCHEMAS = ["auth", "prompts", "analytics"]
LOCK_KEY = 0x6878_5EED  # pg_advisory_lock key shared by every seeder
# maintenance_work_mem for the indexes built after a bulk load: the HNSW graph (about the table's
# size again) must fit to build fast; beyond it pgvector goes on building on disk, many times slower
BUILD_MEMORY_MB = (1024, 6144)  # at least, at most

SECONDARY_INDEXES = """
SELECT format('%I.%I', tn.nspname, t.relname), format('%I.%I', n.nspname, i.relname), pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE x.indrelid = ANY($1::regclass[]) AND t.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.oid)
ORDER BY i.relname
"""


INSERT_TRIGGERS = """
SELECT format('%I.%I', n.nspname, c.relname), tgname
FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE tgrelid = ANY($1::regclass[]) AND NOT tgisinternal AND tgtype & 4 <> 0
"""  # 4: TRIGGER_TYPE_INSERT; the internal ones are the foreign keys' checks


@dataclass
class TableLoad:
    """What loading one table did: rows generated and inserted, seconds generating them and loading
    them (COPY, and looking up the ids present), and the seconds of each secondary index built after
    a bulk load, by index name."""

    inserted: int = 0
    seconds: float = 0.0
    generated: int = 0
    generate_seconds: float = 0.0
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


Say = Callable[[str], None]  # progress lines


class Source(Protocol):
    """A world to load: a WorldWriter (batches made as they load) or a Dataset (whole, in memory)."""

    @property
    def world(self) -> World: ...

    def history_sample(self) -> list[HistoryEntry]: ...

    def batches(self) -> Iterator[Table[Any]]: ...


async def load_dataset(dsn: str, source: Source, clean: bool = False, say: Say | None = None) -> dict[str, TableLoad]:
    """Load `source` into the database at `dsn`; what each table received, by table."""
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass('prompts.history')") is None:
            raise SeedError(f"{redact(dsn)}: prompts.history does not exist: apply the migrations first")
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        if clean:
            await empty_seeded_tables(conn)
        tables = await seeded_tables(conn)
        bulk = await all_empty(conn, tables)
        if not bulk:
            await refuse_another_world(conn, source.history_sample())
        await create_history_partitions(conn, source.world.history_month_starts())
        await register_codecs(conn)  # the records hold JSON as Python objects and vectors as arrays
        loader = Loader(conn, say or (lambda line: None), tables)
        try:
            if bulk:
                await loader.bulk(source.batches())
            else:
                await loader.incremental(source.batches())
        except asyncpg.IntegrityConstraintViolationError as exc:
            table = f"{exc.schema_name}.{exc.table_name}" if exc.table_name else "a seeded table"
            raise SeedConflict(f"{table}: {exc.constraint_name or ''}: {exc.detail or exc}") from exc
        return loader.loads
    finally:
        await conn.close()  # and with it the advisory lock


class Loader:
    """Loads batches on one connection, tallying each table's load and saying how far it got."""

    def __init__(self, conn: asyncpg.Connection, say: Say, tables: list[str]) -> None:
        self.conn, self.say, self.tables = conn, say, tables
        self.loads: dict[str, TableLoad] = {}
        self.types: dict[str, dict[str, ColumnType]] = {}
        self.encoders: dict[tuple[str, tuple[str, ...]], list[Encoder] | None] = {}
        self.started = time.perf_counter()

    def timed(self, batches: Iterator[Table[Any]]) -> Iterator[tuple[Table[Any], TableLoad]]:
        """Each batch with its table's tally, the seconds spent making it counted there."""
        while True:
            started = time.perf_counter()
            batch = next(batches, None)
            if batch is None:
                return
            load = self.loads.setdefault(batch.qualified, TableLoad())
            load.generated += len(batch.rows)
            load.generate_seconds += time.perf_counter() - started
            yield batch, load

    async def copy(self, batch: Table[Any], load: TableLoad, rows: Sequence[Any], derived: Iterable[Derived]) -> None:
        started = time.perf_counter()
        columns = [list(map(attrgetter(name), rows)) for name in batch.columns]
        await self.copy_columns(batch.qualified, batch.columns, columns)
        for extra in derived:
            derived_rows = list(map(extra.of, rows))
            columns = [[row[n] for row in derived_rows] for n in range(len(extra.columns))]
            await self.copy_columns(extra.table, extra.columns, columns)
        load.inserted += len(rows)
        load.seconds += time.perf_counter() - started
        if batch.qualified == "prompts.history":
            inserted = sum(t.inserted for t in self.loads.values())
            self.say(f"history: {load.generated:,} rows made; {inserted:,} rows of all tables loaded "
                     f"in {time.perf_counter() - self.started:.1f} s")  # fmt: skip

    async def bulk(self, batches: Iterator[Table[Any]]) -> None:
        """Every batch into the empty database in one transaction, secondary indexes built last."""
        conn = self.conn
        async with conn.transaction():
            await truncate(conn, self.tables)
            rebuild = await drop_secondary_indexes(conn, self.tables)
            may_skip = await conn.fetchval("SELECT has_parameter_privilege('session_replication_role', 'SET')")
            triggers = await insert_triggers(conn, self.tables) if may_skip else None
            role = "origin"
            for batch, load in self.timed(batches):
                derived = None if triggers is None else taken_over(triggers.get(batch.qualified, []))
                wanted = "origin" if derived is None else "replica"  # replica: no FK checks, no triggers
                if wanted != role:
                    await conn.execute(f"SET LOCAL session_replication_role = {wanted}")
                    role = wanted
                await self.copy(batch, load, batch.rows, derived or ())
            await conn.execute("SET LOCAL session_replication_role = origin")
            self.say_loaded()
            memory = await build_memory_mb(conn, [table for table, indexes in rebuild.items() if indexes])
            memory_set = None
            for table, indexes in rebuild.items():
                if indexes and memory[table] != memory_set:
                    await conn.execute(f"SET LOCAL maintenance_work_mem = '{memory[table]}MB'")
                    memory_set = memory[table]
                builds = {}
                for name, definition in indexes:
                    started = time.perf_counter()
                    await conn.execute(definition)
                    builds[name] = time.perf_counter() - started
                if builds:
                    self.loads.setdefault(table, TableLoad()).index_builds = builds
                    total = ", ".join(f"{name.split('.')[-1]} {s:.1f} s" for name, s in builds.items())
                    self.say(f"{table}: indexes built in {sum(builds.values()):.1f} s ({total})")

    async def incremental(self, batches: Iterator[Table[Any]]) -> None:
        """Each batch's missing rows, in a transaction of its own, with every check and trigger."""
        for batch, load in self.timed(batches):
            async with self.conn.transaction():
                found = await self.conn.fetch(f"SELECT id FROM {batch.qualified} WHERE id = ANY($1::uuid[])",
                                              [row.id for row in batch.rows])  # fmt: skip
                present = {record[0] for record in found}
                await self.copy(batch, load, [row for row in batch.rows if row.id not in present], ())
        self.say_loaded()

    async def copy_columns(self, table: str, names: tuple[str, ...], columns: list[list[Any]]) -> None:
        """Rows given column by column, in binary COPY written here, or by asyncpg's encoder for a table
        with a column type binary_copy does not write."""
        if not columns or not columns[0]:
            return
        if table not in self.types:  # every seeded table's at the first COPY: one round trip
            self.types.update(await column_types(self.conn, sorted({table, *self.tables})))
        if (table, names) not in self.encoders:
            self.encoders[table, names] = encoders_of(self.types[table], names)
        encoders = self.encoders[table, names]
        if encoders is None:
            schema, name = table.split(".")
            records = zip(*columns, strict=True)
            await self.conn.copy_records_to_table(name, schema_name=schema, columns=list(names), records=records)
        else:
            await copy_columns(self.conn, table, names, encoders, columns)

    def say_loaded(self) -> None:
        for table, load in self.loads.items():
            self.say(f"{table}: {load.inserted:,} rows in {load.seconds:.1f} s")


async def build_memory_mb(conn: asyncpg.Connection, tables: list[str]) -> dict[str, int]:
    """One and a half times each table's size, within BUILD_MEMORY_MB, by table."""
    sizes = await conn.fetch("SELECT t, pg_table_size(t::regclass) FROM unnest($1::text[]) t", tables)
    low, high = BUILD_MEMORY_MB
    return {table: min(high, max(low, int(size) * 3 // 2 // 2**20)) for table, size in sizes}


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
    await truncate(conn, await seeded_tables(conn))


async def truncate(conn: asyncpg.Connection, tables: list[str]) -> None:
    """TRUNCATE `tables`. In the transaction that then loads them, it also spares the COPYs writing
    WAL under wal_level = minimal (the embedded backend's): the new files are synced at commit."""
    if tables:
        await conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


async def refuse_another_world(conn: asyncpg.Connection, sample: list[HistoryEntry]) -> None:
    """Rows are found by id; ids are positional, so another profile's (or scale's) history row with
    our id would be silently kept and clash later. Compare a few rows up front instead."""
    columns = ("id", "user_id", "created_at", "original_input")
    ours = {attrgetter(*columns)(row) for row in sample}
    found = await conn.fetch(
        f"SELECT {', '.join(columns)} FROM prompts.history WHERE id = ANY($1::uuid[])", [row.id for row in sample]
    )
    theirs = {tuple(record) for record in found}
    if theirs - ours:
        raise SeedConflict("prompts.history holds rows of another profile or scale under the same ids: seed with clean")


async def all_empty(conn: asyncpg.Connection, tables: list[str]) -> bool:
    exists = " OR ".join(f"EXISTS (SELECT FROM {name})" for name in tables)
    return not tables or not await conn.fetchval(f"SELECT {exists}")


async def create_history_partitions(conn: asyncpg.Connection, months: list[dt.date]) -> None:
    """A partition per seeded month, unless the default partition already holds rows of that month:
    all in one statement, or month by month when one of them is in the default partition."""
    try:
        await conn.execute("SELECT prompts.create_history_partition(month) FROM unnest($1::date[]) month", months)
        return
    except asyncpg.CheckViolationError:
        pass
    for month in months:
        try:
            await conn.execute("SELECT prompts.create_history_partition($1)", month)
        except asyncpg.CheckViolationError:
            continue  # rows of this month sit in history_default; seeded ones will join them


async def insert_triggers(conn: asyncpg.Connection, tables: list[str]) -> dict[str, list[str]]:
    """The names of each table's insert triggers (not the foreign keys' checks), by table."""
    triggers: dict[str, list[str]] = {}
    for table, name in await conn.fetch(INSERT_TRIGGERS, tables):
        triggers.setdefault(table, []).append(name)
    return triggers


def taken_over(triggers: list[str]) -> list[Derived] | None:
    """What the seed must write for a table's insert `triggers` to be skipped; None when one of them
    is not the seed's to take over (the table then loads with every trigger and check)."""
    if any(name not in TAKEN_OVER for name in triggers):
        return None
    return [derived for name in triggers if (derived := TAKEN_OVER[name]) is not None]


async def drop_secondary_indexes(conn: asyncpg.Connection, tables: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Drop the indexes of `tables` that back no constraint, in one statement; return, by table in
    the order given, each one's name and the statement that recreates it (on a partitioned table,
    with its partitions' indexes)."""
    indexes = await conn.fetch(SECONDARY_INDEXES, tables)
    if indexes:
        await conn.execute(f"DROP INDEX {', '.join(name for _, name, _ in indexes)}")
    rebuild: dict[str, list[tuple[str, str]]] = {table: [] for table in tables}
    for table, name, definition in indexes:
        rebuild[table].append((name, definition.replace(" ON ONLY ", " ON ", 1)))
    return rebuild
