"""How values cross the wire: JSON(B) as Python objects, pgvector's `vector` as numpy float32
arrays. The one home of these codecs: the pool's connections, the seed loader and the suites all
register them here."""

from __future__ import annotations

import json
import struct
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

JSONB_VERSION = b"\x01"
VECTOR_SCHEMA = """
SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = 'vector'
"""


async def register_codecs(conn: asyncpg.Connection) -> None:
    """JSON(B) and, where the extension exists, vector, all in binary (COPY takes binary only). No
    role switching: a connection acts as the login its DSN names, so no statement can become another."""
    await conn.set_type_codec("json", encoder=encode_json, decoder=json.loads, schema="pg_catalog", format="binary")
    await conn.set_type_codec("jsonb", encoder=encode_jsonb, decoder=decode_jsonb, schema="pg_catalog", format="binary")
    schema = await conn.fetchval(VECTOR_SCHEMA)
    if schema is not None:
        await conn.set_type_codec(
            "vector", schema=schema, encoder=encode_vector, decoder=decode_vector, format="binary"
        )


def encode_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def encode_jsonb(value: Any) -> bytes:
    """jsonb's binary format: a version byte (1), then the JSON text."""
    return JSONB_VERSION + json.dumps(value).encode()


def decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


def encode_vector(value: Any) -> bytes:
    """pgvector's binary format: dimension and a zero (int16 each), then big-endian float32s."""
    array = np.asarray(value, dtype=">f4")
    return struct.pack(">HH", array.size, 0) + array.tobytes()


def decode_vector(data: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(data, dtype=">f4", offset=4).astype(np.float32)
