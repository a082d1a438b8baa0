"""One generic repository, configured per table: create, get, keyset-paginated list with filters,
partial update, delete, and bulk insert by COPY. Typed records come out; column names going in
are checked against the table, and values only ever travel as parameters."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar
from uuid import UUID

import numpy as np

from harness.data.errors import InvalidInput, NotFound
from harness.data.postgres.checks import as_uuid
from harness.data.postgres.database import Database
from harness.data.postgres.translate import translated

R = TypeVar("R")
MAX_JSON_BYTES = 1_000_000
MAX_PAGE = 1000


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
        annotations = {f.name: str(f.type) for f in fields(record)}  # type: ignore[arg-type]
        self.columns = tuple(annotations)
        self.known = frozenset(self.columns)
        self.writable = self.known - frozenset(read_only)
        self._positional = False  # rows match the record's field order (checked on the first row)
        self.uuid_columns = frozenset(n for n, t in annotations.items() if t.startswith("UUID"))
        self.json_columns = frozenset(n for n, t in annotations.items() if t.startswith(("dict[", "list[Any]")))
        self.vector_columns = frozenset(n for n, t in annotations.items() if t.startswith("Vector"))
        self.dimension: int | None = None  # set by the caller that knows it (see Database.embedding_dimension)
        self._get = f"SELECT * FROM {table} WHERE id = $1"
        self._delete = f"DELETE FROM {table} WHERE id = $1"
        self._lock = f"SELECT * FROM {table} WHERE id = $1 FOR UPDATE"

    def _check(self, values: Mapping[str, Any], allowed: frozenset[str]) -> list[Any]:
        unknown = set(values) - allowed
        if unknown:
            raise InvalidInput(sorted(unknown)[0], f"{self.table} has no writable column of that name")
        return [self._checked_value(name, value) for name, value in values.items()]

    def _checked_value(self, name: str, value: Any) -> Any:
        """Refuse here what the server would refuse less clearly (or not at all)."""
        if value is None:
            return None
        if _has_nul(value):
            raise InvalidInput(name, "contains a NUL character, which PostgreSQL text cannot store")
        if name in self.uuid_columns:
            return as_uuid(name, value)
        if name in self.json_columns:
            try:
                size = len(json.dumps(value))
            except (TypeError, ValueError) as exc:
                raise InvalidInput(name, f"not JSON-serialisable: {exc}") from None
            if size > MAX_JSON_BYTES:
                raise InvalidInput(name, f"JSON of {size} bytes exceeds {MAX_JSON_BYTES}")
        elif name in self.vector_columns:
            try:
                vector = np.asarray(value, dtype=np.float32)
            except (TypeError, ValueError):
                raise InvalidInput(name, "not a sequence of numbers") from None
            if self.dimension is not None and vector.shape != (self.dimension,):
                raise InvalidInput(name, f"expected {self.dimension} dimensions, got {vector.size}")
            return vector
        return value

    def _row(self, row: Any) -> R:
        """A record from a row: positionally (fast) once one row has shown the columns line up."""
        if self._positional:
            return self.record(*row)
        self._positional = tuple(row.keys()) == self.columns
        return self.record(**row)

    async def create(self, **values: Any) -> R:
        args = self._check(values, self.writable)
        sql = _insert_sql(self.table, tuple(values))
        return self._row(await self.db.fetchrow(self.table, sql, *args))

    async def find(self, id: UUID | str) -> R | None:
        key = as_uuid("id", id)
        row = await self.db.fetchrow(self.table, self._get, key)
        return None if row is None else self._row(row)

    async def lock(self, id: UUID | str) -> R:
        """The row, locked FOR UPDATE until the unit of work ends: read-modify-write without lost updates."""
        row = await self.db.fetchrow(self.table, self._lock, as_uuid("id", id))
        if row is None:
            raise NotFound(f"{self.table}: no row with id {id}")
        return self._row(row)

    async def get(self, id: UUID | str) -> R:
        found = await self.find(id)
        if found is None:
            raise NotFound(f"{self.table}: no row with id {id}")
        return found

    async def list(
        self, *, filters: Mapping[str, Any] | None = None, after: Cursor | None = None, limit: int = 50
    ) -> Page[R]:
        """Newest first; equality `filters` on any column; `after` is the previous page's `next`."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
        filters = filters or {}
        unknown = set(filters) - self.known
        if unknown:
            raise InvalidInput(sorted(unknown)[0], f"{self.table} has no column of that name")
        equal = {k: v for k, v in filters.items() if v is not None}
        args = [self._checked_value(k, v) for k, v in equal.items()]
        null = tuple(k for k, v in filters.items() if v is None)
        sql = _list_sql(self.table, tuple(equal), null, after is not None)
        if after is not None:
            args += [after.created_at, after.id]
        rows = await self.db.fetch(self.table, sql, *args, limit + 1)
        items = [self._row(r) for r in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return Page(items, Cursor(last["created_at"], last["id"]) if last is not None else None)

    async def update(self, id: UUID | str, **changes: Any) -> R:
        """Set only the given columns; NotFound when no row has `id`."""
        if not changes:
            return await self.get(id)
        args = self._check(changes, self.writable - {"id"})
        sql = _update_sql(self.table, tuple(changes))
        row = await self.db.fetchrow(self.table, sql, as_uuid("id", id), *args)
        if row is None:
            raise NotFound(f"{self.table}: no row with id {id}")
        return self._row(row)

    async def delete(self, id: UUID | str) -> None:
        status = await self.db.execute(self.table, self._delete, as_uuid("id", id))
        if status == "DELETE 0":
            raise NotFound(f"{self.table}: no row with id {id}")

    async def copy(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Bulk insert by COPY; every row gives the same columns. Returns the number copied."""
        if not rows:
            return 0
        names = tuple(rows[0])
        records = [tuple(self._check(row, self.writable)) for row in rows]
        schema, _, table = self.table.partition(".")
        async with self.db.connection() as conn:
            with translated(self.table):
                await conn.copy_records_to_table(table, schema_name=schema, columns=names, records=records)
        return len(records)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


@cache
def _insert_sql(table: str, names: tuple[str, ...]) -> str:
    if not names:
        return f"INSERT INTO {table} DEFAULT VALUES RETURNING *"
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders}) RETURNING *"


@cache
def _update_sql(table: str, names: tuple[str, ...]) -> str:
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    return f"UPDATE {table} SET {assignments} WHERE id = $1 RETURNING *"


@cache
def _list_sql(table: str, names: tuple[str, ...], null: tuple[str, ...], keyset: bool) -> str:
    conditions = [f"{name} = ${i}" for i, name in enumerate(names, start=1)] + [f"{name} IS NULL" for name in null]
    n = len(names)
    if keyset:
        conditions.append(f"(created_at, id) < (${n + 1}, ${n + 2})")
        n += 2
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT * FROM {table}{where} ORDER BY created_at DESC, id DESC LIMIT ${n + 1}"
