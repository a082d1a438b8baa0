"""The seed's own binary COPY writer stores exactly what asyncpg's per-row encoder stores, type by
type, NULLs, empty arrays, signs and scales included; a type it does not write is left to asyncpg."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from ipaddress import ip_address
from typing import Any
from uuid import UUID

import asyncpg
import numpy as np
import pytest

from betterprompts_db.data.postgres.codecs import register_codecs
from betterprompts_db.seed.binary_copy import CHUNK_ROWS, column_encoders, copy_columns
from harness.pytest_plugin import Database

UTC = dt.UTC
COLUMNS: dict[str, tuple[str, list[Any]]] = {  # column → its type and values covering each branch of its encoder
    "id": ("uuid", [UUID(int=n) for n in range(7)]),
    "name": ("text", ["a", "", "ünïcode ✓", "tab\tnew\nline", "x" * 5000, None, "z"]),
    "code": ("varchar(8)", ["v", "w", None, "y", "", "q", "r"]),
    "flag": ("boolean", [True, False, None, True, False, True, False]),
    "small": ("smallint", [0, -1, 32767, -32768, None, 7, 8]),
    "count": ("integer", [0, -1, 2**31 - 1, -(2**31), None, 7, 8]),
    "big": ("bigint", [0, -1, 2**63 - 1, -(2**63), None, 7, 8]),
    "ratio": ("real", [0.0, -1.5, 3.25, 1e-7, None, 0.1, 2.0]),
    "exact": ("double precision", [0.0, -1.5, 0.1, 1e300, None, 2.5e-300, 3.0]),
    "at": ("timestamptz", [dt.datetime(2026, 1, 1, tzinfo=UTC),
                           dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                           dt.datetime(2025, 6, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))), None,
                           dt.datetime(2000, 1, 1), dt.datetime(1970, 1, 1, tzinfo=UTC),
                           dt.datetime(2036, 2, 29, tzinfo=UTC)]),
    "day": ("date", [dt.date(2026, 1, 1), dt.date(1999, 12, 31), dt.date(2000, 1, 1), None, dt.date(2024, 2, 29),
                     dt.date(1900, 3, 1), dt.date(2100, 12, 31)]),
    "doc": ("jsonb", [{"a": 1, "b": [1.5, None, True], "c": "é"}, [], {}, None, "text", 0.1,
                      {"nested": {"k": [1, 2]}}]),
    "tags": ("text[]", [["a", "b"], [], None, ["only"], ["ü", ""], ["x", None], ["y"] * 3]),
    "address": ("inet", ["10.0.0.1", ip_address("::1"), None, ip_address("2001:db8::ff"),
                         ip_address("192.168.1.254"), ip_address("0.0.0.0"), ip_address("fe80::1")]),
    "amount": ("numeric(12,3)", [Decimal("0"), Decimal("-1.5"), Decimal("123456789.123"), None, Decimal("0.001"),
                                 Decimal("10000"), Decimal("-0.070")]),
    "free": ("numeric", [Decimal("1e20"), Decimal("-12345678901234567890.0001"), Decimal("0.00000001"), None,
                         Decimal("9999.9999"), Decimal("100000000"), Decimal("-0")]),
    "embedding": ("vector(3)", [np.array([1, 0, 0], dtype=np.float32), [0.5, -0.25, 1e-3], None,
                                np.array([0.1, 0.2, 0.3]), [0, 0, 0], [-1, -1, -1], [3.5, 2.5, 1.5]]),
}  # fmt: skip


@pytest.fixture
async def conn(fresh_database: Database) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(fresh_database.dsn)
    await register_codecs(connection)
    columns = ", ".join(f"{name} {kind}" for name, (kind, _) in COLUMNS.items())
    for table in ("written_here", "written_by_asyncpg"):
        await connection.execute(f"CREATE TABLE public.{table} ({columns})")
    yield connection
    await connection.close()


async def test_every_type_the_seed_writes_is_stored_as_asyncpg_stores_it(conn: asyncpg.Connection) -> None:
    names = tuple(COLUMNS)
    values = [list(column) for _, column in COLUMNS.values()]
    encoders = await column_encoders(conn, "public.written_here", names)
    assert encoders is not None
    await copy_columns(conn, "public.written_here", names, encoders, values)
    await conn.copy_records_to_table("written_by_asyncpg", columns=list(names), records=zip(*values, strict=True))
    ours = await conn.fetch("SELECT * FROM public.written_here ORDER BY id")
    theirs = await conn.fetch("SELECT * FROM public.written_by_asyncpg ORDER BY id")
    assert len(ours) == len(values[0])
    for mine, reference in zip(ours, theirs, strict=True):
        for name in names:
            a, b = mine[name], reference[name]
            if name == "embedding" and a is not None:
                assert np.array_equal(a, b), name
            else:
                assert a == b, (name, a, b)
    textual = "SELECT {} FROM public.{} ORDER BY id"
    cast = ", ".join(f"{name}::text" for name in names)
    assert await conn.fetch(textual.format(cast, "written_here")) == await conn.fetch(
        textual.format(cast, "written_by_asyncpg")
    )


async def test_rows_beyond_one_chunk_arrive_whole_and_in_order(conn: asyncpg.Connection) -> None:
    count = CHUNK_ROWS * 2 + 3
    names = ("id", "count", "name", "embedding")
    vectors = np.random.default_rng(7).standard_normal((count, 3), dtype=np.float32)
    columns: list[list[Any]] = [[UUID(int=n) for n in range(count)], list(range(count)), [str(n) for n in range(count)],
                                list(vectors)]  # fmt: skip
    encoders = await column_encoders(conn, "public.written_here", names)
    assert encoders is not None
    await copy_columns(conn, "public.written_here", names, encoders, columns)
    rows = await conn.fetch("SELECT id, count, name, embedding FROM public.written_here ORDER BY count")
    assert [tuple(r)[:3] for r in rows] == list(zip(*columns[:3], strict=True))
    assert np.array_equal(np.stack([r["embedding"] for r in rows]), vectors)  # one dimension, no NULL: laid out whole


async def test_a_table_with_a_type_it_does_not_write_is_left_to_asyncpg(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE TABLE public.with_interval (id uuid, span interval)")
    assert await column_encoders(conn, "public.with_interval", ("id", "span")) is None
    assert await column_encoders(conn, "public.with_interval", ("id",)) is not None
