"""The BetterPrompts schema as a peer's user applies it: each migration's up file in a transaction
of its own (as `psql -1 -f` does), with the driver the peer's tests use."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql

SCHEMAS = ("auth", "prompts", "analytics")


def up_files() -> list[Path]:
    """The up files, in order, of the migrations directory the benchmark names (PEERS_MIGRATIONS)."""
    return sorted(Path(os.environ["PEERS_MIGRATIONS"]).glob("*.up.sql"))


def apply_up_files(conn: psycopg.Connection) -> None:
    for path in up_files():
        with conn.transaction():
            conn.execute(path.read_bytes())


def truncate_all(conn: psycopg.Connection) -> sql.Composed:
    """One TRUNCATE of every table of the schema: what a session-wide database runs between tests."""
    rows = conn.execute(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)", [list(SCHEMAS)]
    ).fetchall()
    tables = sql.SQL(", ").join(sql.Identifier(schema, table) for schema, table in rows)
    return sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables)
