"""One generic repository, configured per table: create, get, keyset-paginated list with filters,
partial update, delete, and bulk insert by COPY. Typed records come out; column names going in
are checked against the table, every value against its column's type before any SQL, and values
only ever travel as parameters."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg

from betterprompts_db.data.errors import InvalidInput, NotFound
from betterprompts_db.data.postgres import checks
from betterprompts_db.data.postgres.checks import as_uuid
from betterprompts_db.data.postgres.database import Database
from betterprompts_db.data.postgres.translate import translated

R = TypeVar("R")
MAX_PAGE = 1000

# The check for each type a record gives a column (`| None` aside: NULL is the schema's to refuse).
CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "UUID": as_uuid, "str": checks.checked_text, "bool": checks.checked_bool, "int": checks.checked_int,
    "float": checks.checked_float, "Decimal": checks.checked_decimal, "datetime": checks.checked_datetime,
    "date": checks.checked_date, "list[str]": checks.checked_texts, "dict[str, Any]": checks.checked_json,
    "list[Any]": checks.checked_json, "IPAddress": checks.checked_ip,
}  # fmt: skip
# What COPY's encoder says of a value too wide for its column, and the bound that means.
COPY_OVERFLOW = re.compile(r"value out of (int16|int32|float32) range")
COPY_BOUNDS = {"int16": 2**15, "int32": 2**31, "float32": 3.4028234663852886e38}


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the (created_at, id) of the last row seen."""

    created_at: datetime
    id: UUID


@dataclass(frozen=True)
class Page(Generic[R]):
    items: list[R]
    next: Cursor | None


class Repository(Generic[R]):
    """CRUD on `table` returning `record` instances. Keyset order: created_at DESC, id DESC."""

    def __init__(
        self, db: Database, table: str, record: type[R], read_only: Iterable[str] = ("created_at", "updated_at")
    ):
        self.db = db
        self.table = table
        self.record = record
        annotations = {f.name: str(f.type).removesuffix(" | None") for f in fields(record)}  # type: ignore[arg-type]
        unchecked = sorted(n for n, t in annotations.items() if t not in CHECKS and t != "Vector")
        if unchecked:
            raise TypeError(f"{record.__name__}: no value check for the type of {', '.join(unchecked)}")
        self.columns = tuple(annotations)
        self.known = frozenset(self.columns)
        self.writable = self.known - frozenset(read_only)
        self.types = annotations
        self.checks = {n: self._checked_vector if t == "Vector" else CHECKS[t] for n, t in annotations.items()}
        self._positional = False  # rows match the record's field order (checked on the first row)
        self.dimension: int | None = None  # set by the caller that knows it (see Database.embedding_dimension)
        self._get = get_sql(table)
        self._delete = f"DELETE FROM {table} WHERE id = $1"
        self._lock = f"SELECT * FROM {table} WHERE id = $1 FOR UPDATE"

    def _check(
        self, values: Mapping[str, Any], allowed: frozenset[str], order: Sequence[str] | None = None
    ) -> list[Any]:
        unknown = values.keys() - allowed
        if unknown:
            raise InvalidInput(str(min(unknown, key=str))[:64], f"{self.table} has no writable column of that name")
        return [self._checked_value(name, values[name]) for name in (values if order is None else order)]

    def _checked_value(self, name: str, value: Any) -> Any:
        """Refuse here what the server would refuse less clearly (or not at all)."""
        return None if value is None else self.checks[name](name, value)

    def _checked_vector(self, name: str, value: Any) -> Any:
        return checks.checked_vector(name, value, self.dimension)

    def _named(self, exc: InvalidInput, names: Sequence[str], args: Sequence[Any]) -> InvalidInput:
        """`exc` naming the column: by the argument's position when only the driver could say
        which it refused, or as the one numeric value given when the server's overflow names none."""
        if exc.argument is not None and exc.argument <= len(names):
            return InvalidInput(names[exc.argument - 1], exc.reason)
        if exc.field == self.table and isinstance(exc.__cause__, asyncpg.NumericValueOutOfRangeError):
            numeric = {n for n, v in zip(names, args, strict=True) if v is not None and self.types.get(n) == "Decimal"}
            if len(numeric) == 1:
                return InvalidInput(numeric.pop(), exc.reason)
        return exc

    async def _fetchrow(self, sql: str, names: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await self.db.fetchrow(self.table, sql, *args)
        except InvalidInput as exc:
            raise self._named(exc, names, args) from exc

    def _row(self, row: Any) -> R:
        """A record from a row: positionally (fast) once one row has shown the columns line up."""
        if self._positional:
            return self.record(*row)
        self._positional = tuple(row.keys()) == self.columns
        return self.record(**row)

    async def create(self, **values: Any) -> R:
        args = self._check(values, self.writable)
        names = tuple(values)
        return self._row(await self._fetchrow(insert_sql(self.table, names), names, args))

    async def find(self, id: UUID | str) -> R | None:
        key = as_uuid("id", id)
        row = await self.db.read_row(self.table, self._get, key)
        return None if row is None else self._row(row)

    async def lock(self, id: UUID | str) -> R:
        """The row, locked FOR UPDATE until the unit of work ends: read-modify-write without lost updates."""
        key = as_uuid("id", id)
        row = await self.db.fetchrow(self.table, self._lock, key)
        if row is None:
            raise NotFound(f"{self.table}: no row with id {key}")
        return self._row(row)

    async def get(self, id: UUID | str) -> R:
        key = as_uuid("id", id)
        found = await self.find(key)
        if found is None:
            raise NotFound(f"{self.table}: no row with id {key}")
        return found

    async def list(
        self, *, filters: Mapping[str, Any] | None = None, after: Cursor | None = None, limit: int = 50
    ) -> Page[R]:
        """Newest first; equality `filters` on any column; `after` is the previous page's `next`."""
        limit = checks.checked_int("limit", limit, 1, MAX_PAGE)
        filters = {} if filters is None else filters
        if not isinstance(filters, Mapping):
            raise InvalidInput("filters", f"must map column names to values, got a {checks.kind_of(filters)}")
        unknown = filters.keys() - self.known
        if unknown:
            raise InvalidInput(str(min(unknown, key=str))[:64], f"{self.table} has no column of that name")
        equal = {k: v for k, v in filters.items() if v is not None}
        args = [self._checked_value(k, v) for k, v in equal.items()]
        names = [*equal]
        null = tuple(k for k, v in filters.items() if v is None)
        if after is not None:
            if not isinstance(after, Cursor):
                raise InvalidInput("after", f"must be the Cursor of a previous page, got a {checks.kind_of(after)}")
            args += [checks.checked_datetime("after", after.created_at), as_uuid("after", after.id)]
            names += ["after", "after"]
        sql = list_sql(self.table, tuple(equal), null, after is not None)
        try:
            rows = await self.db.read(self.table, sql, *args, limit + 1)
        except InvalidInput as exc:
            raise self._named(exc, [*names, "limit"], [*args, limit]) from exc
        items = [self._row(r) for r in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return Page(items, Cursor(last["created_at"], last["id"]) if last is not None else None)

    async def update(self, id: UUID | str, /, **changes: Any) -> R:
        """Set only the given columns; NotFound when no row has `id`."""
        if not changes:
            return await self.get(id)
        key = as_uuid("id", id)
        args = [key, *self._check(changes, self.writable - {"id"})]
        row = await self._fetchrow(_update_sql(self.table, tuple(changes)), ("id", *changes), args)
        if row is None:
            raise NotFound(f"{self.table}: no row with id {key}")
        return self._row(row)

    async def delete(self, id: UUID | str) -> None:
        key = as_uuid("id", id)
        status = await self.db.execute(self.table, self._delete, key)
        if status == "DELETE 0":
            raise NotFound(f"{self.table}: no row with id {key}")

    async def copy(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Bulk insert by COPY; every row gives the same columns. Returns the number copied."""
        if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
            raise InvalidInput("rows", f"must be a list of rows, got a {checks.kind_of(rows)}")
        if not rows:
            return 0
        if not all(isinstance(row, Mapping) for row in rows):
            raise InvalidInput("rows", "every row must map column names to values")
        names = tuple(rows[0])
        if any(row.keys() != set(names) for row in rows):
            raise InvalidInput("rows", f"every row must give the first row's columns: {', '.join(names)}")
        records = [tuple(self._check(row, self.writable, names)) for row in rows]
        schema, _, table = self.table.partition(".")
        async with self.db.connection() as conn:
            try:
                with translated(self.table):
                    await conn.copy_records_to_table(table, schema_name=schema, columns=names, records=records)
            except (OverflowError, ValueError, TypeError) as exc:  # COPY's encoder refused a value
                raise self._copy_refusal(exc, names, records) from exc
        return len(records)

    def _copy_refusal(self, exc: Exception, names: Sequence[str], records: Sequence[tuple[Any, ...]]) -> InvalidInput:
        """COPY's encoder names no column when a value is too wide for it; the one column holding a
        value beyond the width it does name is the one."""
        width = COPY_OVERFLOW.search(str(exc))
        if width is not None:
            bound = COPY_BOUNDS[width[1]]
            wide = {n for record in records for n, v in zip(names, record, strict=True)
                    if isinstance(v, int | float) and not -bound <= v < bound}  # fmt: skip
            if len(wide) == 1:
                return InvalidInput(wide.pop(), str(exc))
        return InvalidInput("rows", f"COPY cannot encode a value ({type(exc).__name__}: {exc})")


# The statements, as text with $n placeholders: the load tests run them too (psycopg's RawCursor).


@cache
def get_sql(table: str) -> str:
    return f"SELECT * FROM {table} WHERE id = $1"


@cache
def insert_sql(table: str, names: tuple[str, ...]) -> str:
    if not names:
        return f"INSERT INTO {table} DEFAULT VALUES RETURNING *"
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders}) RETURNING *"


@cache
def _update_sql(table: str, names: tuple[str, ...]) -> str:
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    return f"UPDATE {table} SET {assignments} WHERE id = $1 RETURNING *"


@cache
def list_sql(table: str, names: tuple[str, ...], null: tuple[str, ...], keyset: bool) -> str:
    """Equal to each of `names`, NULL in each of `null`, newest first; with `keyset`, after the
    (created_at, id) in the two parameters that follow; the limit last."""
    conditions = [f"{name} = ${i}" for i, name in enumerate(names, start=1)] + [f"{name} IS NULL" for name in null]
    n = len(names)
    if keyset:
        conditions.append(f"(created_at, id) < (${n + 1}, ${n + 2})")
        n += 2
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT * FROM {table}{where} ORDER BY created_at DESC, id DESC LIMIT ${n + 1}"
