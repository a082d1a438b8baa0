"""Catalog snapshots: every object and property `pg_dump --schema-only` (and `pg_dumpall --roles-only`
for the migrations' roles) would print, as comparable text, one line per object.

Two snapshots are equal exactly when those dumps would print the same objects with the same
properties, in any order. Objects are described by name and definition (never by OID), so up → down
→ up compares equal to the first up; lists whose order pg_dump does not keep (ACLs, reloptions,
function settings, policy roles) are sorted, while ordered ones (enum labels, column positions,
text search mappings) keep their order. A NULL ACL is written as the default it stands for. What
pg_dump leaves out is left out here too: extension members (the extension's row and member list
cover them), the runner's version schema, sequence values and role passwords. Roles are server-wide,
so only those the migrations name or this database's objects refer to are described.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import asyncpg

from harness.migrate.catalog_queries import KINDS, QUERIES, SNAPSHOT_QUERY
from harness.migrate.files import Migration

Snapshot = dict[str, frozenset[str]]

__all__ = ["QUERIES", "Snapshot", "describe_difference", "named_roles", "take_snapshot"]

DUMP_SETTINGS = """SET LOCAL search_path = ''; SET LOCAL DateStyle = 'ISO'; SET LOCAL IntervalStyle = 'postgres';
SET LOCAL extra_float_digits = 3; SET LOCAL TimeZone = 'UTC'"""
WORD = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)')


def named_roles(migrations: Iterable[Migration]) -> list[str]:
    """Every identifier the migrations' scripts spell (quoted or not, in strings and DO blocks too):
    the names a role they create, alter or drop can have, so one left behind with no object
    referring to it is still described."""
    names: set[str] = set()
    for m in migrations:
        for script in (m.up, m.down):
            for quoted, bare in WORD.findall(script.sql):
                names.add(quoted.replace('""', '"') if quoted else bare.lower())
    return sorted(names)


async def take_snapshot(conn: asyncpg.Connection, roles: Iterable[str] = ()) -> Snapshot:
    """The catalog of `conn`'s database, and of the server's roles named in `roles` or referred to
    by the database's objects: one query, under the settings pg_dump uses whatever a migration
    left set on the session."""
    async with conn.transaction(readonly=True):
        await conn.execute(DUMP_SETTINGS)
        rows = await conn.fetch(SNAPSHOT_QUERY, sorted(set(roles)))
    lines: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for kind, line in rows:
        lines[kind].add(line)
    return {kind: frozenset(found) for kind, found in lines.items()}


def describe_difference(expected: Snapshot, actual: Snapshot, limit: int = 20) -> list[str]:
    """Lines of `- missing` / `+ unexpected` objects, per kind; empty when the snapshots are equal."""
    lines: list[str] = []
    for kind in [*expected, *(kind for kind in actual if kind not in expected)]:  # the snapshot's order
        before, after = expected.get(kind, frozenset()), actual.get(kind, frozenset())
        lines += [f"  {kind}: - {item}" for item in sorted(before - after)]
        lines += [f"  {kind}: + {item}" for item in sorted(after - before)]
    return lines[:limit] + ([f"  … and {len(lines) - limit} more"] if len(lines) > limit else [])
