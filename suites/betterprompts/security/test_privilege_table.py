"""The README's privilege table (role, table, command) is what pg_catalog says, cell for cell:
a reader can trust it, and a grant or policy that changes without it fails here."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from harness.pytest_plugin import Database

README = Path(__file__).resolve().parents[3] / "README.md"
START, END = "<!-- privileges:start -->", "<!-- privileges:end -->"
REFUSED = "\u2013"  # the en dash the README writes for "no privilege"
COLUMNS = [("bp_app", "SELECT"), ("bp_app", "INSERT"), ("bp_app", "UPDATE"), ("bp_app", "DELETE"),
           ("bp_readonly", "SELECT")]  # fmt: skip
TABLES = """SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('auth', 'prompts', 'analytics') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            ORDER BY 1"""


async def cell(conn: asyncpg.Connection, table: str, role: str, command: str) -> str:
    """REFUSED (no privilege), "all" or "own" (rows: every one, or the acting user's under RLS), then
    ": col, …" when only some columns are granted."""
    whole = await conn.fetchval("SELECT has_table_privilege($1, $2, $3)", role, table, command)
    columns = [] if whole or command == "DELETE" else [r[0] for r in await conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = $2::regclass AND attnum > 0 AND NOT attisdropped"
        " AND has_column_privilege($1, $2::regclass, attnum, $3) ORDER BY attnum", role, table, command)]  # fmt: skip
    if not whole and not columns:
        return REFUSED
    rls, quals = await conn.fetchrow(
        "SELECT c.relrowsecurity, array(SELECT coalesce(p.qual, p.with_check) FROM pg_policies p"
        " WHERE p.schemaname || '.' || p.tablename = $1 AND $2 = ANY (p.roles) AND p.cmd IN ($3, 'ALL'))"
        " FROM pg_class c WHERE c.oid = $1::regclass", table, role, command,
    )  # fmt: skip
    if not rls or "true" in quals:
        rows = "all"
    else:  # the acting user's, and the shared ones (no owner) where a policy admits those too
        rows = "own, shared" if any("user_id IS NULL" in q for q in quals) else "own"
    return f"{rows}: {', '.join(columns)}" if columns else rows


def documented() -> dict[str, list[str]]:
    text = README.read_text()
    assert START in text, f"README.md lost its {START} … {END} table"
    assert END in text, f"README.md lost its {START} … {END} table"
    rows = {}
    for line in text[text.index(START) : text.index(END)].splitlines():
        found = re.match(r"\| `([a-z_]+\.[a-z_]+)` \|(.*)\|\s*$", line)
        if found:
            rows[found[1]] = [c.strip() for c in found[2].split("|")]
    return rows


async def test_the_readme_privilege_table_matches_the_catalog(fresh_database: Database) -> None:
    conn = await asyncpg.connect(fresh_database.dsn)
    try:
        actual = {table: [await cell(conn, table, role, command) for role, command in COLUMNS]
                  for (table,) in await conn.fetch(TABLES)}  # fmt: skip
    finally:
        await conn.close()
    table = "\n".join(f"| `{name}` | " + " | ".join(cells) + " |" for name, cells in actual.items())
    assert documented() == actual, f"README.md's privilege table should read:\n{table}"
