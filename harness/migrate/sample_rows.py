"""Generated rows for every user table, from the catalog alone: `verify --with-data` needs rows in
the tables before it can see a down lose them, and a generic, type-driven generator serves any
schema.

Tables are filled parents first (foreign-key order). A value comes from what the column's CHECK
constraints admit (`check_values`), else from its type: integers, numerics, text within its
length, booleans, dates and timestamps, uuid, json, bytea, inet, arrays of these, enums cycling
through all their labels, domains as their base type, pgvector's `vector(n)`. Values vary with a
counter that never repeats, so unique columns get unique values; a foreign key takes the values of
an existing referenced row. Identity, generated and serial columns are left to the server, so
sequences advance as an application's inserts advance them. Each row runs in a savepoint: one a
constraint refuses is tried again with nullable columns NULL, then also defaulted columns DEFAULT,
then skipped; a table no row fits is reported with the server's reason.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from harness.migrate.check_values import Choices, check_choices
from harness.migrate.runner import VERSION_SCHEMA
from harness.provision.databases import quote_identifier

ROWS_PER_ROUND = 3  # rows tried per table each time tables are seeded
# user tables (partitions are reached through their parent), not an extension's nor the runner's
USER_TABLES = """
SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', $1) AND n.nspname !~ '^pg_'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY 2"""
COLUMNS = """
SELECT a.attrelid, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod) AS type_sql,
       NOT a.attnotnull AS nullable, a.atthasdef AS has_default,
       a.attidentity <> '' OR a.attgenerated <> ''
         OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false) AS server_made,
       b.typname AS base, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       e.typname AS element,
       coalesce((SELECT array_agg(l.enumlabel ORDER BY l.enumsortorder) FROM pg_enum l
                 WHERE l.enumtypid = coalesce(e.oid, b.oid)), '{}') AS labels,
       EXISTS (SELECT FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique
               AND a.attnum = ANY (i.indkey::int2[])) AS is_unique
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum"""
CONSTRAINTS = """
SELECT c.conrelid, c.contype::text, c.confrelid, pg_get_constraintdef(c.oid) AS definition,
       (SELECT array_agg(a.attname ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS columns,
       (SELECT array_agg(quote_ident(a.attname) ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS referenced
FROM pg_constraint c
WHERE c.conrelid = ANY ($1::oid[]) AND c.contype IN ('c', 'f') AND c.conparentid = 0"""
EPOCH = datetime(2030, 1, 1)  # dates and timestamps after it: a `created_at < expires_at` default now() passes


@dataclass(frozen=True)
class Column:
    name: str
    number: int
    type_sql: str
    nullable: bool
    has_default: bool
    base: str  # the type's name, a domain's base type's for a domain
    typmod: int
    element: str | None  # an array's element type
    labels: tuple[str, ...]  # an enum's (or an enum array's) labels, in order
    unique: bool


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: int  # the referenced table's oid
    referenced: tuple[str, ...]  # its columns, quoted


@dataclass
class Table:
    oid: int
    name: str
    columns: list[Column]
    foreign_keys: list[ForeignKey]
    checks: list[str]


class Seeder:
    """Inserts generated rows into every user table of one database, round after round; remembers
    which tables never took a row, and why."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.serials = itertools.count(1)
        self.seeded: set[str] = set()
        self.refused: dict[str, str] = {}  # table → why no row fitted, while none has

    async def seed(self, rows: int = ROWS_PER_ROUND) -> None:
        """Up to `rows` new rows in each user table, parents first."""
        tables = await read_tables(self.conn)
        for table in _parents_first(tables):
            problem = await self._fill(table, tables, rows)
            if problem is None:
                self.seeded.add(table.name)
                self.refused.pop(table.name, None)
            elif table.name not in self.seeded:
                self.refused[table.name] = problem

    async def _fill(self, table: Table, tables: dict[int, Table], rows: int) -> str | None:
        """Insert the rows; None when at least one went in, else the reason none did."""
        choices = await check_choices(self.conn, table.checks)
        references: list[list[tuple[str, ...]]] = []
        for key in table.foreign_keys:
            found = await self.conn.fetch(
                f"SELECT DISTINCT {', '.join(key.referenced)} FROM {tables[key.table].name} "
                f"WHERE ({', '.join(key.referenced)}) IS NOT NULL LIMIT 50"
            )
            if not found and not all(_column(table, c).nullable for c in key.columns):
                return f"no row in {tables[key.table].name} to refer to"
            references.append([tuple(str(v) for v in row) for row in found])
        reason = "no row was tried"
        inserted = False
        for _ in range(rows):
            serial = next(self.serials)
            values = self._row(table, choices, references, serial)
            for attempt in (values, _simpler(table, values, defaults=False), _simpler(table, values, defaults=True)):
                try:
                    async with self.conn.transaction():
                        await self._insert(table, attempt)
                    inserted = True
                    break
                except asyncpg.PostgresError as exc:
                    reason = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
        return None if inserted else reason

    def _row(
        self, table: Table, choices: dict[str, Choices], references: list[list[tuple[str, ...]]], serial: int
    ) -> dict[str, str | None]:
        row: dict[str, str | None] = {}
        for column in table.columns:
            picked = choices[column.name].pick(serial) if column.name in choices else None
            row[column.name] = picked if picked is not None else type_value(column, serial)
        for key, found in zip(table.foreign_keys, references, strict=True):
            chosen = found[serial % len(found)] if found else (None,) * len(key.columns)
            row.update(zip(key.columns, chosen, strict=True))
        return row

    async def _insert(self, table: Table, row: Mapping[str, str | DefaultValue | None]) -> None:
        names, values, args = [], [], []
        for column in table.columns:
            value = row[column.name]
            names.append(quote_identifier(column.name))
            if isinstance(value, DefaultValue):
                values.append("DEFAULT")
            else:
                args.append(value)
                values.append(f"${len(args)}::text::{column.type_sql}")
        rows = f"({', '.join(names)}) VALUES ({', '.join(values)})" if names else "DEFAULT VALUES"  # all server-made
        await self.conn.execute(f"INSERT INTO {table.name} {rows}", *args)


class DefaultValue:
    """The column's DEFAULT, in a retried row."""


DEFAULT = DefaultValue()


def _simpler(table: Table, row: dict[str, str | None], *, defaults: bool) -> dict[str, str | DefaultValue | None]:
    """`row` with nullable columns NULL (their constraints pass on NULL), and, with `defaults`,
    defaulted columns DEFAULT; foreign keys keep their referenced values."""
    keys = {c for key in table.foreign_keys for c in key.columns}
    simpler: dict[str, str | DefaultValue | None] = {}
    for column in table.columns:
        value: str | DefaultValue | None = row[column.name]
        if defaults and column.has_default and column.name not in keys:
            value = DEFAULT
        elif column.nullable and column.name not in keys:
            value = None
        simpler[column.name] = value
    return simpler


async def read_tables(conn: asyncpg.Connection) -> dict[int, Table]:
    """The user tables of `conn`'s database, with the columns a generator fills (not identity,
    generated or serial ones) and their foreign keys and CHECK constraints."""
    tables = {
        row["oid"]: Table(row["oid"], row["name"], [], [], []) for row in await conn.fetch(USER_TABLES, VERSION_SCHEMA)
    }
    for row in await conn.fetch(COLUMNS, list(tables)):
        if not row["server_made"]:
            tables[row["attrelid"]].columns.append(
                Column(row["attname"], row["attnum"], row["type_sql"], row["nullable"], row["has_default"],
                       row["base"], row["typmod"], row["element"], tuple(row["labels"]), row["is_unique"])
            )  # fmt: skip
    for row in await conn.fetch(CONSTRAINTS, list(tables)):
        table = tables[row["conrelid"]]
        if row["contype"] == "c":
            table.checks.append(row["definition"])
        elif row["confrelid"] in tables and all(_has(table, c) for c in row["columns"]):
            table.foreign_keys.append(ForeignKey(tuple(row["columns"]), row["confrelid"], tuple(row["referenced"])))
    return tables


def _has(table: Table, name: str) -> bool:
    return any(c.name == name for c in table.columns)


def _column(table: Table, name: str) -> Column:
    return next(c for c in table.columns if c.name == name)


def _parents_first(tables: dict[int, Table]) -> Iterator[Table]:
    """Tables in foreign-key order (a cycle is broken where it is found; a self-reference waits
    for the table's own rows)."""
    done: set[int] = set()

    def visit(oid: int, path: frozenset[int]) -> Iterator[Table]:
        if oid in done or oid in path:
            return
        for key in tables[oid].foreign_keys:
            yield from visit(key.table, path | {oid})
        done.add(oid)
        yield tables[oid]

    for oid in sorted(tables, key=lambda o: tables[o].name):
        yield from visit(oid, frozenset())


def type_value(column: Column, serial: int) -> str | None:
    """Row `serial`'s value for `column`, as text its type reads; None for a type not known here."""
    if column.element is not None:
        item = _scalar(column.element, -1, column.labels, column.name, serial, column.unique, column.number)
        return (
            None if item is None else "{" + json.dumps(item, ensure_ascii=False) + "}"
        )  # a quoted element, JSON's escapes suffice
    return _scalar(column.base, column.typmod, column.labels, column.name, serial, column.unique, column.number)


def _scalar(
    base: str, typmod: int, labels: tuple[str, ...], name: str, serial: int, unique: bool, number: int
) -> str | None:
    if labels:
        return labels[serial % len(labels)]  # every label, the ones only a later up allows included
    if base in ("int2", "int4", "int8", "oid"):
        return str(serial % 32000 if unique else 1 + serial % 5)  # small positive numbers pass most range checks
    if base in ("float4", "float8", "numeric", "money"):
        whole_digits = ((typmod - 4) >> 16) - ((typmod - 4) & 0xFFFF) if base == "numeric" and typmod > 0 else 9
        return str(serial) if unique and whole_digits >= len(str(serial)) else ("1" if whole_digits > 0 else "0.5")
    if base in ("text", "varchar", "bpchar", "name", "citext"):
        text = f"{name}-{serial}"
        limit = typmod - 4 if base in ("varchar", "bpchar") and typmod > 4 else len(text)
        return text[-limit:]
    if base == "bool":
        return "true" if serial % 2 else "false"
    if base == "date":
        return (date(2030, 1, 1) + timedelta(days=serial)).isoformat()
    if base in ("timestamp", "timestamptz"):
        return (EPOCH + timedelta(hours=serial, minutes=number)).isoformat()
    if base in ("time", "timetz"):
        return f"{serial % 24:02d}:{number % 60:02d}:00"
    if base == "interval":
        return f"{serial} minutes"
    if base == "uuid":
        return f"00000000-0000-4000-8000-{serial:012x}"
    if base in ("json", "jsonb"):
        return json.dumps({"n": serial})
    if base == "bytea":
        return f"\\x{serial:08x}"
    if base in ("inet", "cidr"):
        return f"10.{serial >> 16 & 255}.{serial >> 8 & 255}.{serial & 255}" + ("/32" if base == "cidr" else "")
    if base == "vector":
        size = typmod if typmod > 0 else 3
        return "[" + ",".join(f"{(serial * 7919 + i * 104729) % 1000 / 1000:.3f}" for i in range(size)) + "]"
    return None
