"""Loading a world: COPY (binary) batch by batch, only the rows whose stable ids are missing.

A session advisory lock serialises seeders of one database. Into an empty database (the usual
case: a fresh clone, or after `clean`) the bulk load runs in one transaction: the tables truncated
(under wal_level = minimal their COPYs then write no WAL), secondary indexes dropped first and
built after every COPY (a bulk build beats row-by-row maintenance, above all for HNSW), and, where
the role may, foreign-key checks and the insert triggers the seed writes itself (TAKEN_OVER)
skipped by `session_replication_role = replica`; a thread makes and encodes the batches a couple
ahead of the one loading, so Python works while the server ingests. A failed bulk load leaves
nothing. Otherwise each
batch loads incrementally in a transaction of its own, with every check and trigger, after the
rows it references (a failed load leaves whole batches, and the next run adds the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Protocol

import asyncpg

from betterprompts_db.data.postgres.codecs import register_codecs
from betterprompts_db.data.postgres.records import HistoryEntry
from betterprompts_db.seed.binary_copy import ColumnType, Encoder, column_types, copy_encoded, encode_copy, encoders_of
from betterprompts_db.seed.dataset import Table
from betterprompts_db.seed.errors import SeedConflict, SeedError
from betterprompts_db.seed.profiles import World
from harness.provision.endpoints import redact

SEEDED_SCHEMAS = ["auth", "prompts", "analytics"]
LOCK_KEY = 0x6878_5EED  # pg_advisory_lock key shared by every seeder
# maintenance_work_mem for the indexes built after a bulk load: the HNSW graph (about the table's
# size again) must fit to build fast; beyond it pgvector goes on building on disk, many times slower
BUILD_MEMORY_MB = (1024, 6144)  # at least, at most
MADE_AHEAD = 2  # batches a bulk load's maker thread holds ready, encoded: bounds its memory

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
    """What loading one table did: rows generated and inserted, seconds generating them (in a bulk
    load, waiting for the maker thread to make and encode them) and loading them (COPY, and looking
    up the ids present), and the seconds of each secondary index built after a bulk load, by index name."""

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


@dataclass(frozen=True)
class Copy:
    """One COPY ready to send: its binary stream, or (a column type binary_copy does not write)
    the records for asyncpg's encoder."""

    table: str
    names: tuple[str, ...]
    stream: list[bytes] | None
    records: list[tuple[Any, ...]] | None


@dataclass(frozen=True)
class Prepared:
    """A batch made and encoded: its table, its row count, whether it loads as `replica` (no foreign
    key checks, no triggers: the seed wrote what they would), and its COPYs (the derived rows' too)."""

    table: str
    rows: int
    replica: bool
    copies: list[Copy]


class Maker:
    """A thread making and encoding `batches` (`prepare`d) up to MADE_AHEAD ahead of the one loading.
    The batches are made in their order, by one thread: the world is the same as made inline."""

    def __init__(self, batches: Iterator[Table[Any]], prepare: Callable[[Table[Any]], Prepared]) -> None:
        self.ready: queue.Queue[Prepared | BaseException | None] = queue.Queue(MADE_AHEAD)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.make, args=(batches, prepare), name="seed-maker", daemon=True)
        self.thread.start()

    def make(self, batches: Iterator[Table[Any]], prepare: Callable[[Table[Any]], Prepared]) -> None:
        try:
            for batch in batches:
                if self.stop.is_set():
                    return
                self.ready.put(prepare(batch))
            self.ready.put(None)
        except BaseException as exc:  # handed to the loading side, which raises it
            self.ready.put(exc)

    async def next(self) -> Prepared | None:
        """The next batch, None after the last; what making it raised, raised here."""
        made = await asyncio.to_thread(self.ready.get)
        if isinstance(made, BaseException):
            raise made
        return made

    async def close(self) -> None:
        """Stop making (the batch in hand is finished) and wait for the thread, taking what it put."""
        self.stop.set()

        def drain() -> None:
            while self.thread.is_alive():
                with contextlib.suppress(queue.Empty):
                    self.ready.get(timeout=0.05)  # frees a put it is blocked on

        await asyncio.to_thread(drain)


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
        months = source.world.history_month_starts()
        if not bulk:
            await create_history_partitions(conn, months)
        await register_codecs(conn)  # the records hold JSON as Python objects and vectors as arrays
        loader = Loader(conn, say or (lambda line: None), tables)
        try:
            if bulk:
                await loader.bulk(source.batches(), months)
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

    def prepare(self, batch: Table[Any], rows: Sequence[Any], derived: Iterable[Derived], replica: bool) -> Prepared:
        """`rows` of `batch` and the rows derived from them, encoded for COPY (thread-safe while no
        other thread prepares: the encoders are chosen once per table and columns)."""
        copies = [self.encoded(batch.qualified, batch.columns, [list(map(attrgetter(n), rows)) for n in batch.columns])]
        for extra in derived:
            derived_rows = list(map(extra.of, rows))
            columns = [[row[n] for row in derived_rows] for n in range(len(extra.columns))]
            copies.append(self.encoded(extra.table, extra.columns, columns))
        return Prepared(batch.qualified, len(rows), replica, [c for c in copies if c is not None])

    def prepare_bulk(self, batch: Table[Any], triggers: dict[str, list[str]] | None) -> Prepared:
        """`batch` as the bulk load sends it: as `replica`, with the rows its table's insert
        `triggers` would write, when the seed takes them all over (`triggers`: `skippable_triggers`)."""
        derived = None if triggers is None else taken_over(triggers.get(batch.qualified, []))
        return self.prepare(batch, batch.rows, derived or (), replica=derived is not None)

    def encoded(self, table: str, names: tuple[str, ...], columns: list[list[Any]]) -> Copy | None:
        """Rows given column by column, in binary COPY written here, or as records for asyncpg's
        encoder when the table has a column type binary_copy does not write; None for no rows."""
        if not columns or not columns[0]:
            return None
        if (table, names) not in self.encoders:
            self.encoders[table, names] = encoders_of(self.types[table], names)
        encoders = self.encoders[table, names]
        if encoders is None:
            return Copy(table, names, None, list(zip(*columns, strict=True)))
        return Copy(table, names, encode_copy(encoders, columns), None)

    async def send(self, prepared: Prepared, load: TableLoad) -> None:
        started = time.perf_counter()
        for copy in prepared.copies:
            schema, name = copy.table.split(".")
            if copy.stream is None:
                await self.conn.copy_records_to_table(name, schema_name=schema, columns=list(copy.names),
                                                      records=copy.records)  # fmt: skip
            else:
                await copy_encoded(self.conn, copy.table, copy.names, copy.stream)
        load.inserted += prepared.rows
        load.seconds += time.perf_counter() - started
        if prepared.table == "prompts.history":
            inserted = sum(t.inserted for t in self.loads.values())
            self.say(f"history: {load.generated:,} rows made; {inserted:,} rows of all tables loaded "
                     f"in {time.perf_counter() - self.started:.1f} s")  # fmt: skip

    async def load_types(self) -> None:
        """Every seeded table's column types, in one round trip."""
        if not self.types:
            self.types.update(await column_types(self.conn, self.tables))

    async def bulk(self, batches: Iterator[Table[Any]], months: list[dt.date]) -> None:
        """Every batch into the empty database in one transaction, secondary indexes built last; the
        history partitions of `months` made there, after the indexes are dropped (none to make for
        them, and their COPYs write no WAL either): no row can sit in the default partition."""
        conn = self.conn
        async with conn.transaction():
            await truncate(conn, self.tables)
            rebuild = await drop_secondary_indexes(conn, self.tables)
            await conn.execute(CREATE_PARTITIONS, months)
            triggers = await skippable_triggers(conn, self.tables)
            await self.load_types()
            role = "origin"
            maker = Maker(batches, lambda batch: self.prepare_bulk(batch, triggers))
            try:
                while True:
                    started = time.perf_counter()
                    prepared = await maker.next()
                    if prepared is None:
                        break
                    load = self.loads.setdefault(prepared.table, TableLoad())
                    load.generated += prepared.rows
                    load.generate_seconds += time.perf_counter() - started
                    wanted = "replica" if prepared.replica else "origin"  # replica: no FK checks, no triggers
                    if wanted != role:
                        await conn.execute(f"SET LOCAL session_replication_role = {wanted}")
                        role = wanted
                    await self.send(prepared, load)
            finally:
                await maker.close()
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
                await self.load_types()
                missing = [row for row in batch.rows if row.id not in present]
                await self.send(self.prepare(batch, missing, (), replica=False), load)
        self.say_loaded()

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


CREATE_PARTITIONS = "SELECT prompts.create_history_partition(month) FROM unnest($1::date[]) month"


async def create_history_partitions(conn: asyncpg.Connection, months: list[dt.date]) -> None:
    """A partition per seeded month, unless the default partition already holds rows of that month:
    all in one statement, or month by month when one of them is in the default partition."""
    try:
        await conn.execute(CREATE_PARTITIONS, months)
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


async def skippable_triggers(conn: asyncpg.Connection, tables: list[str]) -> dict[str, list[str]] | None:
    """The insert triggers of `tables` by table, when the role may skip them (and the foreign-key
    checks) by session_replication_role; None when it may not."""
    may_skip = await conn.fetchval("SELECT has_parameter_privilege('session_replication_role', 'SET')")
    return await insert_triggers(conn, tables) if may_skip else None


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
