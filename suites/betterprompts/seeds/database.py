"""Reading a seeded database back: row counts and a data-only dump."""

from __future__ import annotations

import asyncio

import asyncpg

from betterprompts_db.seed import SEEDED_SCHEMAS
from harness.provision.embedded import pg_bin_dir


async def fetch(dsn: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def row_counts(dsn: str) -> dict[str, int]:
    """Rows per table of the BetterPrompts schemas (partitioned tables counted once, at the parent)."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            """SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1""",
            SEEDED_SCHEMAS,
        )
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for (t,) in tables}
    finally:
        await conn.close()


async def dump_data(dsn: str) -> str:
    """`pg_dump --data-only` of everything but harness's own schema, with a fixed restrict key."""
    process = await asyncio.create_subprocess_exec(
        str(pg_bin_dir() / "pg_dump"), "--data-only", "--exclude-schema=harness", "--restrict-key=harness",
        f"--dbname={dsn}", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()
