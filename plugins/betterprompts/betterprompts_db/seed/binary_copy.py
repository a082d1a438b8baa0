"""PostgreSQL's binary COPY format, written a column at a time into one buffer per chunk of rows.

asyncpg's `copy_records_to_table` encodes row by row, calling the Python codecs (JSON, vectors) for
each value. Here each column's values are encoded in one pass by an encoder chosen once per column
type (from the catalogue), the fields of a chunk joined into one bytes object, and the chunks
streamed by `copy_to_table` while the next one is encoded: the server parses one chunk as the
client encodes the next. A table with a column of a type not covered here is loaded by asyncpg's
own encoder: every value still crosses the wire exactly as before.

Formats: https://www.postgresql.org/docs/current/sql-copy.html (binary format) and each type's
`*_send` function; pgvector's is int16 dimension, int16 unused, big-endian float4s.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import struct
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from itertools import chain, repeat
from typing import Any

import asyncpg
import numpy as np
import orjson

from betterprompts_db.data.postgres.codecs import JSONB_VERSION

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
TRAILER = b"\xff\xff"
NULL = b"\xff\xff\xff\xff"
CHUNK_ROWS = 2048  # rows per COPY data message: the server parses one while the next is encoded

PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
PG_EPOCH_NAIVE = dt.datetime(2000, 1, 1)
PG_EPOCH_DATE = dt.date(2000, 1, 1)
MICROSECOND = dt.timedelta(microseconds=1)
LENGTH = struct.Struct(">i").pack

Encoder = Callable[[Sequence[Any]], list[bytes]]  # a column's values → each field, length first

ColumnType = tuple[str, str, int]  # type name; for an array, its element's type name and oid
COLUMN_TYPES = """
SELECT format('%I.%I', n.nspname, c.relname), a.attname, t.typname, COALESCE(e.typname, ''), t.typelem::int
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
WHERE a.attrelid = ANY($1::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped
"""


def fixed(fmt: str, convert: Callable[[Any], Any] | None = None) -> Encoder:
    """A fixed-width type: its length and value packed by one struct."""
    pack = struct.Struct(">i" + fmt).pack
    width = struct.calcsize(">" + fmt)
    if convert is None:
        return lambda values: [NULL if v is None else pack(width, v) for v in values]
    return lambda values: [NULL if v is None else pack(width, convert(v)) for v in values]


def prefixed(data: bytes) -> bytes:
    return LENGTH(len(data)) + data


def encode_text(values: Sequence[Any]) -> list[bytes]:
    encoded = [None if v is None else v.encode() for v in values]
    return [NULL if b is None else LENGTH(len(b)) + b for b in encoded]


def encode_uuid(values: Sequence[Any]) -> list[bytes]:
    size = LENGTH(16)
    return [NULL if v is None else size + v.bytes for v in values]


def encode_bool(values: Sequence[Any]) -> list[bytes]:
    true, false = LENGTH(1) + b"\x01", LENGTH(1) + b"\x00"
    return [NULL if v is None else true if v else false for v in values]


def encode_jsonb(values: Sequence[Any]) -> list[bytes]:
    """jsonb: a version byte, then the JSON text (the server stores it parsed, spacing aside)."""
    dumps = orjson.dumps
    encoded = [None if v is None else JSONB_VERSION + dumps(v) for v in values]
    return [NULL if b is None else LENGTH(len(b)) + b for b in encoded]


def microseconds(value: dt.datetime) -> int:
    """timestamptz: microseconds since PostgreSQL's epoch; a naive datetime is local time, as asyncpg has it."""
    return ((value if value.tzinfo is not None else value.astimezone(dt.UTC)) - PG_EPOCH) // MICROSECOND


def encode_timestamptz(values: Sequence[Any]) -> list[bytes]:
    pack, epoch, unit = struct.Struct(">iq").pack, PG_EPOCH, MICROSECOND
    return [NULL if v is None else pack(8, (v - epoch) // unit) if v.tzinfo is not None else pack(8, microseconds(v))
            for v in values]  # fmt: skip


def naive_microseconds(value: dt.datetime) -> int:
    """timestamp (without time zone): microseconds since PostgreSQL's epoch, the clock as given."""
    return (value - PG_EPOCH_NAIVE) // MICROSECOND


def days(value: dt.date) -> int:
    return (value - PG_EPOCH_DATE).days


def encode_inet(values: Sequence[Any]) -> list[bytes]:
    """inet: family (2: IPv4, 3: IPv6), prefix bits, is_cidr, address length, address."""
    fields = []
    for value in values:
        if value is None:
            fields.append(NULL)
            continue
        address = value if isinstance(value, IPv4Address | IPv6Address) else ipaddress.ip_address(value)
        packed = address.packed
        family = 2 if address.version == 4 else 3
        fields.append(prefixed(bytes((family, address.max_prefixlen, 0, len(packed))) + packed))
    return fields


def encode_vector(values: Sequence[Any]) -> list[bytes]:
    """pgvector: int16 dimension, int16 unused, big-endian float4s. Rows of one dimension without
    NULLs (a seed's) are laid out in one numpy record array and cut into fields."""
    dimensions = {len(v) if v is not None else -1 for v in values}
    if len(dimensions) == 1 and (dimension := dimensions.pop()) > 0:
        layout = [("length", ">i4"), ("dimension", ">u2"), ("unused", ">u2"), ("values", ">f4", (dimension,))]
        records = np.zeros(len(values), dtype=layout)
        records["length"], records["dimension"] = 4 + 4 * dimension, dimension
        records["values"] = np.asarray(values, dtype=np.float32)
        data, width = records.tobytes(), records.itemsize
        return [data[start : start + width] for start in range(0, len(data), width)]
    fields = []
    for value in values:
        if value is None:
            fields.append(NULL)
            continue
        array = np.asarray(value, dtype=">f4")
        fields.append(prefixed(struct.pack(">HH", array.size, 0) + array.tobytes()))
    return fields


def numeric_body(value: Decimal) -> bytes:
    """numeric: ndigits, weight, sign, dscale (int16 each), then base-10000 digits."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return struct.pack(">hhHh", 0, 0, 0xC000, 0)  # NaN (no infinities in a seed)
    text = "".join(map(str, digits))
    scale = max(0, -exponent)
    if exponent >= 0:
        whole, fraction = text + "0" * exponent, ""
    else:
        text = text.rjust(scale + 1, "0")
        whole, fraction = text[:exponent], text[exponent:]
    whole = whole.lstrip("0")
    whole = whole.rjust(-(-len(whole) // 4) * 4, "0")
    fraction = fraction.ljust(-(-len(fraction) // 4) * 4, "0")
    groups = [int(part[i : i + 4]) for part in (whole, fraction) for i in range(0, len(part), 4)]
    weight = len(whole) // 4 - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    head = struct.pack(">hhHh", len(groups), weight, 0x4000 if sign and groups else 0, scale)
    return head + struct.pack(f">{len(groups)}h", *groups)


def encode_numeric(values: Sequence[Any]) -> list[bytes]:
    return [NULL if v is None else prefixed(numeric_body(v if isinstance(v, Decimal) else Decimal(str(v))))
            for v in values]  # fmt: skip


def array_of(element: Encoder, element_oid: int) -> Encoder:
    """A one-dimensional array: ndim, has-null flag, element type, length, lower bound 1, elements.
    Arrays repeat (a few techniques, a few tags): each distinct one is encoded once per call."""
    empty = prefixed(struct.pack(">iiI", 0, 0, element_oid))
    head = struct.Struct(">iiIii").pack

    def encode(values: Sequence[Any]) -> list[bytes]:
        known: dict[tuple[Any, ...], bytes] = {}
        fields = []
        for value in values:
            if value is None:
                fields.append(NULL)
            elif not value:
                fields.append(empty)
            else:
                key = tuple(value)
                field = known.get(key)
                if field is None:
                    body = head(1, None in key, element_oid, len(key), 1) + b"".join(element(key))
                    field = known[key] = prefixed(body)
                fields.append(field)
        return fields

    return encode


ENCODERS: dict[str, Encoder] = {
    "uuid": encode_uuid,
    "text": encode_text,
    "varchar": encode_text,
    "bpchar": encode_text,
    "bool": encode_bool,
    "int2": fixed("h"),
    "int4": fixed("i"),
    "int8": fixed("q"),
    "float4": fixed("f"),
    "float8": fixed("d"),
    "timestamptz": encode_timestamptz,
    "timestamp": fixed("q", naive_microseconds),
    "date": fixed("i", days),
    "jsonb": encode_jsonb,
    "inet": encode_inet,
    "vector": encode_vector,
    "numeric": encode_numeric,
}


async def column_types(conn: asyncpg.Connection, tables: Sequence[str]) -> dict[str, dict[str, ColumnType]]:
    """Each column's type, by table (schema-qualified) and column, in one query."""
    types: dict[str, dict[str, ColumnType]] = {table: {} for table in tables}
    for table, column, type_name, element, element_oid in await conn.fetch(COLUMN_TYPES, list(tables)):
        types.setdefault(table, {})[column] = (type_name, element, element_oid)
    return types


def encoders_of(types: dict[str, ColumnType], columns: Sequence[str]) -> list[Encoder] | None:
    """An encoder for each of `columns` (of a table whose column types are `types`), or None when
    a column's type has none here."""
    encoders = []
    for column in columns:
        type_name, element, element_oid = types[column]
        if element:
            encoder = ENCODERS.get(element)
            encoders.append(array_of(encoder, element_oid) if encoder else None)
        else:
            encoders.append(ENCODERS.get(type_name))
    return None if None in encoders else [e for e in encoders if e is not None]


async def column_encoders(conn: asyncpg.Connection, table: str, columns: Sequence[str]) -> list[Encoder] | None:
    """An encoder for each of `table`'s `columns`, or None when a column's type has none here."""
    return encoders_of((await column_types(conn, [table]))[table], columns)


def encode_rows(encoders: Sequence[Encoder], columns: Sequence[Sequence[Any]]) -> bytes:
    """Tuples of the binary COPY format for rows given column by column (all of one length)."""
    count = len(columns[0]) if columns else 0
    fields = [encode(values) for encode, values in zip(encoders, columns, strict=True)]
    return b"".join(chain.from_iterable(zip(repeat(struct.pack(">h", len(encoders)), count), *fields, strict=True)))


def encode_copy(encoders: Sequence[Encoder], columns: Sequence[Sequence[Any]]) -> list[bytes]:
    """A whole binary COPY stream of rows given column by column: header, CHUNK_ROWS rows a chunk, trailer."""
    count = len(columns[0]) if columns else 0
    chunks = (encode_rows(encoders, [values[start : start + CHUNK_ROWS] for values in columns])
              for start in range(0, count, CHUNK_ROWS))  # fmt: skip
    return [HEADER, *chunks, TRAILER]


async def copy_encoded(conn: asyncpg.Connection, table: str, names: Sequence[str], stream: Sequence[bytes]) -> None:
    """COPY a stream `encode_copy` wrote into `table` (schema-qualified)."""

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in stream:
            yield chunk

    schema, name = table.split(".")
    await conn.copy_to_table(name, schema_name=schema, columns=list(names), source=chunks(), format="binary")


async def copy_columns(
    conn: asyncpg.Connection, table: str, names: Sequence[str], encoders: Sequence[Encoder],
    columns: Sequence[Sequence[Any]],
) -> None:  # fmt: skip
    """COPY rows given column by column into `table` (schema-qualified), CHUNK_ROWS at a time."""
    await copy_encoded(conn, table, names, encode_copy(encoders, columns))
