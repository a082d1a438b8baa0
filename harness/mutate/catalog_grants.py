"""Privilege mutants from the migrated catalog's ACLs (pg_class.relacl, pg_attribute.attacl,
pg_proc.proacl, pg_namespace.nspacl): every privilege an application role holds revoked, and the
privileges it lacks granted — ALL on each table and partition, each ungranted column of a command
it holds column by column (UPDATE of `role`, INSERT of `is_verified`, SELECT of `password_hash`),
CREATE on each schema.

The application roles are the grantees of those ACLs other than the objects' owners, PUBLIC and
superusers (an application's login role and its read-only role, say).
"""

from __future__ import annotations

from collections import defaultdict

import asyncpg

from harness.migrate.runner import VERSION_SCHEMA
from harness.mutate.generated import GeneratedMutant

SCHEMAS = "n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT IN ('information_schema', $1)"
NOT_EXTENSION = (
    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} "
    "AND d.deptype = 'e')"
)
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
COLUMN_PRIVILEGES = ("SELECT", "INSERT", "UPDATE")

ROLES = f"""
SELECT DISTINCT r.rolname::text AS role FROM (
    SELECT (aclexplode(c.relacl)).grantee AS grantee, c.relowner AS owner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {SCHEMAS}
    UNION ALL
    SELECT (aclexplode(a.attacl)).grantee, c.relowner
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {SCHEMAS} AND a.attacl IS NOT NULL
    UNION ALL
    SELECT (aclexplode(n.nspacl)).grantee, n.nspowner FROM pg_namespace n WHERE {SCHEMAS}
) g JOIN pg_roles r ON r.oid = g.grantee
WHERE g.grantee <> g.owner AND NOT r.rolsuper ORDER BY 1
"""
TABLES = f"""
SELECT c.oid, n.nspname, c.relname::text AS relname, format('%I.%I', n.nspname, c.relname) AS qname,
       c.relispartition, c.relkind::text AS relkind, p.partdefid = c.oid AS is_default,
       (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid) AS parent,
       array(SELECT x.privilege_type FROM aclexplode(c.relacl) x JOIN pg_roles r ON r.oid = x.grantee
             WHERE r.rolname = $2) AS privileges
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits inh ON inh.inhrelid = c.oid LEFT JOIN pg_partitioned_table p ON p.partrelid = inh.inhparent
WHERE {SCHEMAS} AND c.relkind IN ('r', 'p') AND {NOT_EXTENSION.format(catalog="pg_class", oid="c.oid")}
ORDER BY 4
"""
COLUMNS = """
SELECT a.attname::text AS col, quote_ident(a.attname) AS qcol,
       array(SELECT x.privilege_type FROM aclexplode(a.attacl) x JOIN pg_roles r ON r.oid = x.grantee
             WHERE r.rolname = $2) AS privileges
FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""
FUNCTIONS = f"""
SELECT n.nspname, p.proname::text AS name,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS qsignature,
       EXISTS (SELECT 1 FROM aclexplode(p.proacl) x JOIN pg_roles r ON r.oid = x.grantee
               WHERE r.rolname = $2 AND x.privilege_type = 'EXECUTE') AS granted
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {SCHEMAS} AND {NOT_EXTENSION.format(catalog="pg_proc", oid="p.oid")} ORDER BY 1, 2
"""
NAMESPACES = f"""
SELECT n.nspname::text AS name, quote_ident(n.nspname) AS qname,
       array(SELECT x.privilege_type FROM aclexplode(n.nspacl) x JOIN pg_roles r ON r.oid = x.grantee
             WHERE r.rolname = $2) AS privileges
FROM pg_namespace n WHERE {SCHEMAS} AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid) ORDER BY 1
"""


def _mutant(kind: str, obj: str, change: str, description: str, sql: str, mentions: tuple[str, ...],
            key: tuple[str, ...]) -> GeneratedMutant:  # fmt: skip
    return GeneratedMutant(
        id=f"{kind}:{obj}:{change}", source="sql", kind=kind, object=obj, description=description, sql=sql,
        mentions=mentions, key=key,
    )  # fmt: skip


async def application_roles(conn: asyncpg.Connection) -> list[str]:
    return [r["role"] for r in await conn.fetch(ROLES, VERSION_SCHEMA)]


async def grant_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    mutants: list[GeneratedMutant] = []
    for role in await application_roles(conn):
        mutants += await _table_mutants(conn, role)
        mutants += await _function_mutants(conn, role)
        mutants += await _schema_mutants(conn, role)
    return sorted(mutants, key=lambda m: m.id)


def _partition_label(table: asyncpg.Record, first_range: dict[str, str]) -> str | None:
    """A partition's stable name (`parent[default]`, `parent[range]` for the first range partition by
    name), or None for the partitions left alone (the other months hold the same privileges)."""
    if table["is_default"]:
        return f"{table['parent']}[default]"
    if first_range.get(table["parent"]) == table["relname"]:
        return f"{table['parent']}[range]"
    return None


async def _table_mutants(conn: asyncpg.Connection, role: str) -> list[GeneratedMutant]:
    tables = await conn.fetch(TABLES, VERSION_SCHEMA, role)
    first_range: dict[str, str] = {}
    for t in tables:
        if t["relispartition"] and not t["is_default"]:
            first_range.setdefault(t["parent"], t["relname"])
    mutants = []
    for t in tables:
        name = f"{t['nspname']}.{t['relname']}"
        held = set(t["privileges"])
        if t["relispartition"]:
            label = _partition_label(t, first_range)
            if label is not None and not held.issuperset(TABLE_PRIVILEGES):
                parent = t["parent"].rpartition(".")[2]
                mutants.append(_mutant(
                    "grant", label, f"all-to-{role}", f"{role} may use the partition {name} directly, past the"
                    f" parent's row-level security", f"GRANT ALL ON {t['qname']} TO {role}", (parent, "partition"),
                    (label, "acl", role),
                ))  # fmt: skip
            continue
        mentions = (t["relname"],)
        if not held.issuperset(TABLE_PRIVILEGES):
            mutants.append(_mutant("grant", name, f"all-to-{role}", f"{role} gets every privilege on {name}",
                                   f"GRANT ALL ON {t['qname']} TO {role}", mentions, (name, "acl", role)))  # fmt: skip
        for privilege in sorted(held & set(TABLE_PRIVILEGES)):
            mutants.append(_mutant(
                "revoke", name, f"{privilege.lower()}-from-{role}", f"{role} loses {privilege} on {name}",
                f"REVOKE {privilege} ON {t['qname']} FROM {role}", mentions, (name, "acl", role, privilege),
            ))  # fmt: skip
        mutants += await _column_mutants(conn, t, role, held)
    return mutants


async def _column_mutants(
    conn: asyncpg.Connection, table: asyncpg.Record, role: str, table_held: set[str]
) -> list[GeneratedMutant]:
    """Column grants revoked one by one; for a command the role holds on some columns only, each
    other column granted."""
    columns = await conn.fetch(COLUMNS, table["oid"], role)
    by_privilege: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for c in columns:
        for privilege in c["privileges"]:
            by_privilege[privilege].append(c)
    name = f"{table['nspname']}.{table['relname']}"
    mutants = []
    for c in columns:
        column = f"{name}.{c['col']}"
        mentions = (f"{table['relname']}.{c['col']}", c["col"], table["relname"])
        for privilege in COLUMN_PRIVILEGES:
            key = (name, "acl", role, privilege, c["col"])
            if privilege in c["privileges"]:
                mutants.append(_mutant(
                    "revoke", column, f"{privilege.lower()}-from-{role}", f"{role} loses {privilege} of {column}",
                    f"REVOKE {privilege} ({c['qcol']}) ON {table['qname']} FROM {role}", mentions, key,
                ))  # fmt: skip
            elif by_privilege[privilege] and privilege not in table_held:
                mutants.append(_mutant(
                    "grant", column, f"{privilege.lower()}-to-{role}", f"{role} may {privilege} {column}",
                    f"GRANT {privilege} ({c['qcol']}) ON {table['qname']} TO {role}", mentions, key,
                ))  # fmt: skip
    return mutants


async def _function_mutants(conn: asyncpg.Connection, role: str) -> list[GeneratedMutant]:
    return [
        _mutant(
            "revoke",
            f"{f['nspname']}.{f['name']}",
            f"execute-from-{role}",
            f"{role} may no longer call {f['nspname']}.{f['name']}",
            f"REVOKE EXECUTE ON FUNCTION {f['qsignature']} FROM {role}",
            (f["name"],),
            (f"{f['nspname']}.{f['name']}", "acl", role),
        )
        for f in await conn.fetch(FUNCTIONS, VERSION_SCHEMA, role)
        if f["granted"]
    ]


async def _schema_mutants(conn: asyncpg.Connection, role: str) -> list[GeneratedMutant]:
    mutants = []
    for s in await conn.fetch(NAMESPACES, VERSION_SCHEMA, role):
        held = set(s["privileges"])
        if "USAGE" in held:
            mutants.append(_mutant("revoke", s["name"], f"usage-from-{role}", f"{role} loses USAGE on schema "
                                   f"{s['name']}", f"REVOKE USAGE ON SCHEMA {s['qname']} FROM {role}", (s["name"],),
                                   (s["name"], "acl", role, "USAGE")))  # fmt: skip
        if "CREATE" not in held:
            mutants.append(_mutant("grant", s["name"], f"create-to-{role}", f"{role} may create objects in schema "
                                   f"{s['name']}", f"GRANT CREATE ON SCHEMA {s['qname']} TO {role}", (s["name"],),
                                   (s["name"], "acl", role, "CREATE")))  # fmt: skip
    return mutants
