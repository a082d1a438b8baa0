"""`verify --with-data`: downs that lose rows. A catalog comparison cannot see a rename reversed by
drop + add, a column folded back without its data, an enum value removed by deleting its rows, a
table rebuilt empty or a sequence restarted: the schema comes back, the data does not.

At each step, on verify's scratch database, two checks over generated rows (`sample_rows`):

1. the down restores the data: rows are generated before the up; after up → down every table,
   column (row count, and an order-independent checksum of its values) and sequence (last_value)
   of that state must be as it was;
2. down → up keeps what the up allows: rows are generated again after the up (values only it
   admits, a new enum label say); after down → up, the tables and columns that existed before the
   up must hold the same data, and their sequences must not have gone back. Tables and columns the
   up creates are its own: whatever it puts there it puts again, and what the down drops of them
   is inherent (a volatile default would differ anyway). Columns match across the up by table oid
   and attnum (a rename keeps both), else by name (a table rebuilt).

A loss already reported by the first check is not reported again by the second.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg

from harness.migrate.files import Migration
from harness.migrate.runner import VERSION_SCHEMA, MigrationRunner
from harness.migrate.sample_rows import USER_TABLES, Seeder
from harness.provision.databases import quote_identifier

COLUMNS = "SELECT attname, attnum FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY 2"
SEQUENCES = "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences WHERE schemaname <> $1"


@dataclass(frozen=True)
class ColumnData:
    number: int  # attnum
    filled: int  # non-NULL values
    checksum: str | None  # md5 over the sorted md5s of its values: the same multiset, the same sum


@dataclass(frozen=True)
class TableData:
    oid: int
    rows: int
    columns: dict[str, ColumnData]


@dataclass(frozen=True)
class DataSnapshot:
    tables: dict[str, TableData]
    sequences: dict[str, int | None]  # last_value; None before the first nextval


async def take_data(conn: asyncpg.Connection) -> DataSnapshot:
    """Row counts, per-column checksums and sequence values of every user table of the database."""
    tables: dict[str, TableData] = {}
    for oid, name in await conn.fetch(USER_TABLES, VERSION_SCHEMA):
        columns = [(row["attname"], row["attnum"]) for row in await conn.fetch(COLUMNS, oid)]
        sums = []
        for column, _ in columns:
            quoted = quote_identifier(column)
            sums.append(f"count({quoted}), md5(string_agg(md5({quoted}::text), '' ORDER BY md5({quoted}::text)))")
        row = await conn.fetchrow(f"SELECT {', '.join(['count(*)', *sums])} FROM {name}")
        tables[name] = TableData(
            oid,
            row[0],
            {column: ColumnData(number, row[1 + 2 * i], row[2 + 2 * i]) for i, (column, number) in enumerate(columns)},
        )
    sequences = {name: value for name, value in await conn.fetch(SEQUENCES, VERSION_SCHEMA)}
    return DataSnapshot(tables, sequences)


def describe_loss(
    label: str, expected: DataSnapshot, actual: DataSnapshot, when: str, checked: set[str] | None = None
) -> list[tuple[str, str]]:
    """(what, line) per table whose rows, column whose values or sequence whose value is not as
    `expected`; of the tables (`schema.table`), columns (`schema.table.column`) and sequences
    `checked` names, when given."""
    found: list[tuple[str, str]] = []
    for name, before in expected.tables.items():
        after = actual.tables.get(name)
        if after is None or (checked is not None and name not in checked):
            continue  # a table gone is the catalog comparison's to report
        if after.rows != before.rows:
            lost = before.rows - after.rows
            change = f"{lost} row{'s' * (lost != 1)} lost" if lost > 0 else "rows added"
            found.append((name, f"{label}: {name}: {change} ({before.rows} → {after.rows} {when})"))
            continue
        for column, was in before.columns.items():
            now = after.columns.get(column)
            if (
                now is None
                or now.checksum == was.checksum
                or (checked is not None and f"{name}.{column}" not in checked)
            ):
                continue
            how = f"{was.filled} non-NULL → {now.filled}" if now.filled != was.filled else f"other {now.filled} values"
            found.append((f"{name}.{column}", f"{label}: {name}.{column}: values changed ({how} {when})"))
    for name, was_value in expected.sequences.items():
        now_value = actual.sequences.get(name, was_value)
        if checked is not None and name not in checked:
            continue
        if was_value is not None and (now_value is None or now_value < was_value):
            shown = "never called" if now_value is None else now_value
            found.append((name, f"{label}: sequence {name} restarted (last_value {was_value} → {shown} {when})"))
    return found


def carried(before_up: DataSnapshot, after_up: DataSnapshot) -> set[str]:
    """What of `after_up` existed before the up: tables (by oid, else name), columns (by table oid
    and attnum, so a renamed column counts, else by name) and sequences (by name)."""
    by_number = {(t.oid, c.number) for t in before_up.tables.values() for c in t.columns.values()}
    oids = {t.oid for t in before_up.tables.values()}
    found = set(before_up.sequences)
    for name, table in after_up.tables.items():
        if table.oid in oids or name in before_up.tables:
            found.add(name)
        old_columns = before_up.tables[name].columns if name in before_up.tables else {}
        found |= {
            f"{name}.{column}"
            for column, data in table.columns.items()
            if (table.oid, data.number) in by_number or column in old_columns
        }
    return found


class DataCheck:
    """The data side of verify, step by step (see the module's docstring); collects every loss,
    so one run names them all."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.seeder = Seeder(conn)
        self.losses: list[str] = []
        self.before_up = DataSnapshot({}, {})
        self.reported: set[str] = set()

    async def seed_before_up(self) -> None:
        await self.seeder.seed()
        self.before_up = await take_data(self.conn)

    async def after_down(self, m: Migration) -> None:
        found = describe_loss(m.label, self.before_up, await take_data(self.conn), "after the down")
        self.reported = {what for what, _ in found}
        self.losses += [line for _, line in found]

    async def round_trip(self, m: Migration, runner: MigrationRunner) -> str:
        """Seed after the up, run down → up, compare; a line for verify's report."""
        await self.seeder.seed()
        after_up = await take_data(self.conn)
        await runner.down(steps=1)
        await runner.up(to=m.version)
        found = describe_loss(
            m.label, after_up, await take_data(self.conn), "after down → up", carried(self.before_up, after_up)
        )
        new = [
            line for what, line in found if what not in self.reported and what.rsplit(".", 1)[0] not in self.reported
        ]
        self.losses += new
        verdict = "loses data" if self.reported or new else "keeps the data"
        rows = sum(t.rows for t in after_up.tables.values())
        return f"{m.label}: the down {verdict} ({len(after_up.tables)} tables, {rows} rows)"

    def summary(self) -> Iterator[str]:
        """Which tables took generated rows, and why the others did not."""
        total = len(self.seeder.seeded) + len(self.seeder.refused)
        yield f"generated rows went into {len(self.seeder.seeded)} of {total} tables"
        for name, reason in sorted(self.seeder.refused.items()):
            yield f"  {name}: not seeded: {reason}"
