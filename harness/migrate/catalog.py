"""Catalog snapshots: every object a migration can create, as comparable text.

Objects are described by name and definition (never by OID), so a snapshot taken after
up → down → up equals the one taken after the first up. A NULL ACL is written as the default it
stands for, so granting then revoking compares equal to never granting. Extension members are covered by the
extension's own row; the runner's version schema is left out.
"""

from __future__ import annotations

import asyncpg

from harness.migrate.runner import VERSION_SCHEMA

Snapshot = dict[str, frozenset[str]]

USER_SCHEMA = f"""n.nspname NOT IN ('pg_catalog', 'information_schema', '{VERSION_SCHEMA}')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"""
NOT_EXTENSION_MEMBER = """NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"""


def sorted_acl(acl: str) -> str:
    """An ACL as text with its items sorted: grants made in another order compare equal."""
    return f"(SELECT '{{' || coalesce(string_agg(i::text, ',' ORDER BY i::text), '') || '}}' FROM unnest({acl}) i)"


QUERIES: dict[str, str] = {
    "extensions": """
        SELECT e.extname || ' ' || e.extversion || ' in ' || n.nspname
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace""",
    "schemas": f"""
        SELECT n.nspname || ' owner=' || pg_get_userbyid(n.nspowner)
            || ' acl=' || {sorted_acl("coalesce(n.nspacl, acldefault('n', n.nspowner))")}
        FROM pg_namespace n WHERE {USER_SCHEMA}""",
    "relations": f"""
        SELECT n.nspname || '.' || c.relname || ' kind=' || c.relkind::text || ' persistence=' || c.relpersistence::text
            || ' rls=' || c.relrowsecurity::text || '/' || c.relforcerowsecurity::text
            || ' owner=' || pg_get_userbyid(c.relowner)
            || ' acl=' || {
        sorted_acl('''coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r'
                                                                        END::"char", c.relowner))''')
    }
            || ' options=' || coalesce(c.reloptions::text, '')
            || ' partkey=' || coalesce(pg_get_partkeydef(c.oid), '')
            || ' bound=' || coalesce(pg_get_expr(c.relpartbound, c.oid), '')
            || ' inherits=' || coalesce((SELECT string_agg(i.inhparent::regclass::text, ',' ORDER BY i.inhseqno)
                                         FROM pg_inherits i WHERE i.inhrelid = c.oid), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
          AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}""",
    "columns": f"""
        SELECT n.nspname || '.' || c.relname || '.' || a.attname
            || ' #' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)
            || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
            || ' default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')
            || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
            || ' collation=' || coalesce((SELECT collname FROM pg_collation WHERE oid = a.attcollation), '')
            || ' acl=' || coalesce({sorted_acl("a.attacl")}, '')
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE {USER_SCHEMA} AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
          AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}""",
    "constraints": f"""
        SELECT n.nspname || '.' || coalesce(c.relname, t.typname) || ' ' || k.conname || ' '
            || pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
        LEFT JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_type t ON t.oid = k.contypid
        WHERE {USER_SCHEMA}""",
    "indexes": f"""
        SELECT pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMA}""",
    "triggers": f"""
        SELECT pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMA} AND NOT t.tgisinternal""",
    "functions": f"""
        SELECT p.oid::regprocedure::text || ' owner=' || pg_get_userbyid(p.proowner)
            || ' acl=' || {sorted_acl("coalesce(p.proacl, acldefault('f', p.proowner))")} || ' '
            || CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE p.prokind::text END
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {USER_SCHEMA} AND {NOT_EXTENSION_MEMBER.format(oid="p.oid")}""",
    "types": f"""
        SELECT n.nspname || '.' || t.typname || ' ' || t.typtype::text
            || ' ' || coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                                FROM pg_enum e WHERE e.enumtypid = t.oid), '')
            || ' base=' || CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE '' END
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {USER_SCHEMA} AND t.typtype IN ('e', 'd', 'r', 'm')
          AND {NOT_EXTENSION_MEMBER.format(oid="t.oid")}""",
    "policies": """
        SELECT schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive || ' ' || cmd
            || ' roles=' || roles::text || ' using=' || coalesce(qual, '') || ' check=' || coalesce(with_check, '')
        FROM pg_policies""",
    "default_privileges": """
        SELECT pg_get_userbyid(d.defaclrole) || ' ' || coalesce(d.defaclnamespace::regnamespace::text, '*')
            || ' ' || d.defaclobjtype::text || ' ' || d.defaclacl::text
        FROM pg_default_acl d""",
    "roles": """
        SELECT r.rolname || ' login=' || r.rolcanlogin || ' super=' || r.rolsuper || ' createdb=' || r.rolcreatedb
            || ' bypassrls=' || r.rolbypassrls || ' member_of=' || coalesce((
                SELECT string_agg(g.rolname, ',' ORDER BY g.rolname)
                FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '')
        FROM pg_roles r WHERE r.rolname NOT LIKE 'pg\\_%'""",
    "database": """
        SELECT 'settings=' || coalesce((SELECT string_agg(array_to_string(s.setconfig, ','), ';')
                                         FROM pg_db_role_setting s WHERE s.setdatabase = d.oid), '')
            || ' acl=' || coalesce(d.datacl::text, '')
        FROM pg_database d WHERE d.datname = current_database()""",
}


async def take_snapshot(conn: asyncpg.Connection) -> Snapshot:
    snapshot: Snapshot = {}
    for kind, query in QUERIES.items():
        rows = await conn.fetch(query)
        snapshot[kind] = frozenset(row[0] for row in rows)
    return snapshot


def describe_difference(expected: Snapshot, actual: Snapshot, limit: int = 20) -> list[str]:
    """Lines of `- missing` / `+ unexpected` objects, per kind; empty when the snapshots are equal."""
    lines: list[str] = []
    for kind in expected.keys() | actual.keys():
        before, after = expected.get(kind, frozenset()), actual.get(kind, frozenset())
        lines += [f"  {kind}: - {item}" for item in sorted(before - after)]
        lines += [f"  {kind}: + {item}" for item in sorted(after - before)]
    return lines[:limit] + ([f"  … and {len(lines) - limit} more"] if len(lines) > limit else [])
