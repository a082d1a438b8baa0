"""SQL mutants generated from a migrated database's catalog: one per object, each a post-migration
statement that makes the mistake (a dropped CHECK, a narrowed trigger, a policy that admits every
row…). Privileges are generated in `catalog_grants`; this module reads the rest of pg_catalog.

Objects come from the application's schemas: every schema but the system ones and the migration
runner's own, and never an extension's objects. Partitions are left to their parent (what they
inherit is changed through it) except where they differ: their own privileges (`catalog_grants`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import asyncpg

from harness.migrate.runner import VERSION_SCHEMA
from harness.mutate.catalog_grants import grant_mutants
from harness.mutate.generated import GeneratedMutant

# the relations of the application's schemas ($1: the migration runner's schema)
RELATIONS = """
SELECT c.oid, n.nspname, c.relname, format('%I.%I', n.nspname, c.relname) AS qname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT IN ('information_schema', $1)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
"""
TABLES = f"WITH rel AS ({RELATIONS}) SELECT rel.* FROM rel JOIN pg_class c ON c.oid = rel.oid"
ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
EVENTS = {4: "INSERT", 8: "DELETE", 16: "UPDATE", 32: "TRUNCATE"}
Generator = Callable[[asyncpg.Connection], Awaitable[list[GeneratedMutant]]]


def sql_mutant(kind: str, obj: str, change: str, description: str, sql: str, *mentions: str,
               key: tuple[str, ...] = ()) -> GeneratedMutant:  # fmt: skip
    return GeneratedMutant(
        id=f"{kind}:{obj}:{change}", source="sql", kind=kind, object=obj, description=description, sql=sql,
        mentions=tuple(m for m in mentions if m), key=key or (obj,),
    )  # fmt: skip


def _table(row: asyncpg.Record) -> str:
    return f"{row['nspname']}.{row['relname']}"


async def check_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    rows = await conn.fetch(
        f"""WITH rel AS ({RELATIONS})
        SELECT rel.*, con.conname, quote_ident(con.conname) AS qcon, pg_get_constraintdef(con.oid) AS def,
               array(SELECT attname::text FROM pg_attribute
                     WHERE attrelid = c.oid AND attnum = ANY (con.conkey)) AS cols
        FROM rel JOIN pg_class c ON c.oid = rel.oid JOIN pg_constraint con ON con.conrelid = c.oid
        WHERE con.contype = 'c' AND con.conislocal AND NOT c.relispartition ORDER BY rel.qname, con.conname""",
        VERSION_SCHEMA,
    )  # fmt: skip
    return [
        sql_mutant(
            "check",
            f"{_table(r)}.{r['conname']}",
            "drop",
            f"drop the CHECK {r['def']} of {_table(r)}",
            f"ALTER TABLE {r['qname']} DROP CONSTRAINT {r['qcon']}",
            r["conname"],
            *_columns(r, r["cols"]),
        )
        for r in rows
    ]


def _columns(table: asyncpg.Record, columns: list[str]) -> list[str]:
    """Mentions for columns of `table`: `table.column` pairs, then the table's name."""
    return [*(f"{table['relname']}.{c}" for c in columns), table["relname"]]


async def not_null_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    rows = await conn.fetch(
        f"""WITH rel AS ({RELATIONS})
        SELECT rel.*, a.attname::text AS col, quote_ident(a.attname) AS qcol
        FROM rel JOIN pg_class c ON c.oid = rel.oid JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attnotnull AND a.attidentity = ''
          AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary
                                                     AND a.attnum = ANY (i.indkey))
        ORDER BY rel.qname, a.attnum""",
        VERSION_SCHEMA,
    )  # fmt: skip
    return [
        sql_mutant(
            "not-null",
            f"{_table(r)}.{r['col']}",
            "drop",
            f"admit NULL in {_table(r)}.{r['col']}",
            f"ALTER TABLE {r['qname']} ALTER COLUMN {r['qcol']} DROP NOT NULL",
            *_columns(r, [r["col"]]),
            key=(f"{_table(r)}.{r['col']}", "not-null"),
        )
        for r in rows
    ]


async def unique_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    """UNIQUE constraints, and unique indexes that back no constraint (e.g. on lower(email))."""
    rows = await conn.fetch(
        f"""WITH rel AS ({RELATIONS})
        SELECT rel.*, ic.relname::text AS name, format('%I.%I', rel.nspname, ic.relname) AS qindex,
               con.conname IS NOT NULL AS is_constraint, quote_ident(ic.relname) AS qname_only,
               pg_get_indexdef(i.indexrelid) AS def,
               array(SELECT attname::text FROM pg_attribute WHERE attrelid = c.oid AND attnum = ANY (i.indkey)) AS cols
        FROM rel JOIN pg_class c ON c.oid = rel.oid JOIN pg_index i ON i.indrelid = c.oid
        JOIN pg_class ic ON ic.oid = i.indexrelid
        LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = c.oid
        WHERE i.indisunique AND NOT i.indisprimary AND NOT c.relispartition
          AND (con.contype IS NULL OR con.contype = 'u')
        ORDER BY rel.qname, ic.relname""",
        VERSION_SCHEMA,
    )  # fmt: skip
    mutants = []
    for r in rows:
        sql = (
            f"ALTER TABLE {r['qname']} DROP CONSTRAINT {r['qname_only']}"
            if r["is_constraint"]
            else f"DROP INDEX {r['qindex']}"
        )
        what = "UNIQUE constraint" if r["is_constraint"] else "unique index"
        mutants.append(
            sql_mutant(
                "unique",
                f"{_table(r)}.{r['name']}",
                "drop",
                f"drop the {what} {r['name']} ({r['def']})",
                sql,
                r["name"],
                *_columns(r, r["cols"]),
            )
        )
    return mutants


async def foreign_key_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    """Each FK's ON DELETE changed to every other of CASCADE, SET NULL (nullable columns only), NO ACTION."""
    rows = await conn.fetch(
        f"""WITH rel AS ({RELATIONS})
        SELECT rel.*, con.conname, quote_ident(con.conname) AS qcon, con.confdeltype::text AS action,
               pg_get_constraintdef(con.oid) AS def, con.confrelid::regclass::text AS target,
               array(SELECT attname::text FROM pg_attribute
                     WHERE attrelid = c.oid AND attnum = ANY (con.conkey)) AS cols,
               NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attnum = ANY (con.conkey)
                                                        AND attnotnull) AS nullable
        FROM rel JOIN pg_class c ON c.oid = rel.oid JOIN pg_constraint con ON con.conrelid = c.oid
        WHERE con.contype = 'f' AND con.conparentid = 0 AND NOT c.relispartition ORDER BY rel.qname, con.conname""",
        VERSION_SCHEMA,
    )  # fmt: skip
    mutants = []
    for r in rows:
        current = ON_DELETE[r["action"]]
        base = re.sub(r" ON DELETE (NO ACTION|RESTRICT|CASCADE|SET NULL|SET DEFAULT)( \([^)]*\))?", "", r["def"])
        for action in ("CASCADE", "SET NULL", "NO ACTION"):
            if action == current or (action == "SET NULL" and not r["nullable"]):
                continue
            definition = base if action == "NO ACTION" else f"{base} ON DELETE {action}"
            sql = (
                f"ALTER TABLE {r['qname']} DROP CONSTRAINT {r['qcon']};\n"
                f"ALTER TABLE {r['qname']} ADD CONSTRAINT {r['qcon']} {definition}"
            )
            mutants.append(
                sql_mutant(
                    "foreign-key",
                    f"{_table(r)}.{r['conname']}",
                    f"on-delete-{action.lower().replace(' ', '-')}",
                    f"{_table(r)} -> {r['target']}: ON DELETE {action} instead of {current}",
                    sql,
                    r["conname"],
                    *_columns(r, r["cols"]),
                )
            )
    return mutants


async def default_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    """One per column default: a boolean flipped, a number off by one, a listed text value swapped
    for another the column's CHECK admits (the plausible slips); any other default dropped."""
    rows = await conn.fetch(
        f"""WITH rel AS ({RELATIONS})
        SELECT rel.*, a.attname::text AS col, quote_ident(a.attname) AS qcol,
               pg_get_expr(d.adbin, d.adrelid) AS expr,
               array(SELECT pg_get_constraintdef(con.oid) FROM pg_constraint con
                     WHERE con.conrelid = c.oid AND con.contype = 'c' AND con.conkey = ARRAY[a.attnum]) AS checks
        FROM rel JOIN pg_class c ON c.oid = rel.oid JOIN pg_attribute a ON a.attrelid = c.oid
        JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
        ORDER BY rel.qname, a.attnum""",
        VERSION_SCHEMA,
    )  # fmt: skip
    mutants = []
    for r in rows:
        column = f"{_table(r)}.{r['col']}"
        alter = f"ALTER TABLE {r['qname']} ALTER COLUMN {r['qcol']}"
        changed = changed_default(r["expr"], r["checks"])
        if changed is None:
            change, what, sql = "drop", f"drop the default {r['expr']} of {column}", f"{alter} DROP DEFAULT"
        else:
            change, what, sql = "change", f"default {column} to {changed} instead of {r['expr']}", ""
            sql = f"{alter} SET DEFAULT {changed}"
        mutants.append(
            sql_mutant("default", column, change, what, sql, *_columns(r, [r["col"]]), key=(column, "default"))
        )
    return mutants


def changed_default(expr: str, checks: list[str]) -> str | None:
    """A plausible wrong default for `expr`, or None when dropping it is the mistake to make."""
    if expr in ("true", "false"):
        return "false" if expr == "true" else "true"
    if re.fullmatch(r"-?\d+(\.\d+)?", expr):
        return str(int(expr) + 1) if "." not in expr else str(float(expr) + 1)
    literal = re.fullmatch(r"'([^']*)'::text", expr)
    if literal:
        for check in checks:
            allowed = re.findall(r"'([^']*)'::text", check)
            others = [value for value in allowed if value != literal.group(1)]
            if literal.group(1) in allowed and others:
                return f"'{others[-1]}'"
    return None


async def trigger_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    """Each trigger dropped; each event of a multi-event trigger left out; each column of an
    `UPDATE OF a, b` list left out (recreated from pg_get_triggerdef's text). Mentioned by its
    name, then the columns its function sets, then its table."""
    rows = await conn.fetch(
        f"""WITH rel AS ({RELATIONS})
        SELECT rel.*, t.tgname::text AS name, quote_ident(t.tgname) AS qtrigger, pg_get_triggerdef(t.oid) AS def,
               p.prosrc AS body
        FROM rel JOIN pg_trigger t ON t.tgrelid = rel.oid JOIN pg_class c ON c.oid = rel.oid
        JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND NOT c.relispartition ORDER BY rel.qname, t.tgname""",
        VERSION_SCHEMA,
    )  # fmt: skip
    mutants = []
    for r in rows:
        obj = f"{_table(r)}.{r['name']}"
        drop = f"DROP TRIGGER {r['qtrigger']} ON {r['qname']}"
        mentions = (r["name"], *_columns(r, assigned_columns(r["body"])))
        mutants.append(sql_mutant("trigger", obj, "drop", f"drop the trigger {obj}", drop, *mentions))
        for change, narrowed, what in narrowed_triggers(r["def"]):
            mutants.append(
                sql_mutant("trigger", obj, change, f"{obj} {what}", f"{drop};\n{narrowed}", *mentions)
            )  # fmt: skip
    return mutants


def assigned_columns(body: str) -> list[str]:
    """The columns a trigger function sets (`NEW.col := …`): the tests that read them judge it."""
    return list(dict.fromkeys(m.lower() for m in re.findall(r"\bNEW\.(\w+)\s*:=", body, re.IGNORECASE)))


def narrowed_triggers(definition: str) -> list[tuple[str, str, str]]:
    """(change, CREATE TRIGGER text, description) for each narrowing of the trigger's events."""
    match = re.match(r"(CREATE (?:CONSTRAINT )?TRIGGER \S+ (?:BEFORE|AFTER|INSTEAD OF) )(.+?)( ON .*)", definition)
    if match is None:
        return []
    head, events_text, tail = match.groups()
    events = events_text.split(" OR ")
    narrowed = []
    if len(events) > 1:
        for event in events:
            rest = " OR ".join(e for e in events if e != event)
            verb = event.split()[0]
            narrowed.append((f"without-{verb.lower()}", head + rest + tail, f"no longer fires on {verb}"))
    for event in events:
        if event.startswith("UPDATE OF ") and "," in event:
            columns = event.removeprefix("UPDATE OF ").split(", ")
            for column in columns:
                kept = "UPDATE OF " + ", ".join(c for c in columns if c != column)
                text = head + " OR ".join(kept if e == event else e for e in events) + tail
                narrowed.append((f"without-update-of-{column}", text, f"no longer fires on UPDATE OF {column}"))
    return narrowed


async def policy_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    """Each policy's USING and WITH CHECK made `true` (where not already), each policy dropped,
    and row-level security disabled on each table that enables it."""
    rows = await conn.fetch(
        f"""WITH rel AS ({RELATIONS})
        SELECT rel.*, p.polname::text AS name, quote_ident(p.polname) AS qpolicy,
               pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS checks
        FROM rel JOIN pg_policy p ON p.polrelid = rel.oid ORDER BY rel.qname, p.polname""",
        VERSION_SCHEMA,
    )  # fmt: skip
    mutants = []
    for r in rows:
        obj = f"{_table(r)}.{r['name']}"
        target = f"{r['qpolicy']} ON {r['qname']}"
        mentions = (r["name"], r["relname"])
        if r["qual"] not in (None, "true"):
            what, sql = f"{obj} admits every row (USING true)", f"ALTER POLICY {target} USING (true)"
            mutants.append(sql_mutant("policy", obj, "using-true", what, sql, *mentions, key=(obj, "using")))
        if r["checks"] not in (None, "true"):
            what, sql = f"{obj} admits any new row (WITH CHECK true)", f"ALTER POLICY {target} WITH CHECK (true)"
            mutants.append(sql_mutant("policy", obj, "check-true", what, sql, *mentions, key=(obj, "check")))
        mutants.append(sql_mutant("policy", obj, "drop", f"drop the policy {obj}", f"DROP POLICY {target}", *mentions))
    tables = await conn.fetch(
        f"""WITH rel AS ({RELATIONS}) SELECT rel.* FROM rel JOIN pg_class c ON c.oid = rel.oid
        WHERE c.relrowsecurity ORDER BY rel.qname""",
        VERSION_SCHEMA,
    )  # fmt: skip
    for r in tables:
        mutants.append(
            sql_mutant(
                "row-security",
                _table(r),
                "disable",
                f"row-level security off on {_table(r)}",
                f"ALTER TABLE {r['qname']} DISABLE ROW LEVEL SECURITY",
                r["relname"],
                key=(_table(r), "row-security"),
            )
        )
    return mutants


async def index_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    """Each plain index dropped (unique ones are `unique_mutants`), each partial index recreated
    without its predicate."""
    rows = await conn.fetch(
        f"""WITH rel AS ({RELATIONS})
        SELECT rel.*, ic.relname::text AS name, format('%I.%I', rel.nspname, ic.relname) AS qindex,
               pg_get_indexdef(i.indexrelid) AS def, i.indpred IS NOT NULL AS partial, i.indisunique AS is_unique,
               array(SELECT attname::text FROM pg_attribute WHERE attrelid = c.oid AND attnum = ANY (i.indkey)) AS cols
        FROM rel JOIN pg_class c ON c.oid = rel.oid JOIN pg_index i ON i.indrelid = c.oid
        JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE NOT i.indisprimary AND NOT c.relispartition
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
        ORDER BY rel.qname, ic.relname""",
        VERSION_SCHEMA,
    )  # fmt: skip
    mutants = []
    for r in rows:
        obj = f"{_table(r)}.{r['name']}"
        mentions = (r["name"], *_columns(r, r["cols"]))
        if not r["is_unique"]:
            mutants.append(sql_mutant("index", obj, "drop", f"drop the index {r['def']}",
                                      f"DROP INDEX {r['qindex']}", *mentions))  # fmt: skip
        if r["partial"]:
            whole = r["def"].replace(" ON ONLY ", " ON ").rpartition(" WHERE ")[0]
            mutants.append(sql_mutant("index", obj, "without-predicate", f"{obj} without its WHERE: {whole}",
                                      f"DROP INDEX {r['qindex']};\n{whole}", *mentions))  # fmt: skip
    return mutants


async def function_mutants(conn: asyncpg.Connection) -> list[GeneratedMutant]:
    """SECURITY DEFINER functions: their pinned search_path reset, and EXECUTE granted to PUBLIC."""
    rows = await conn.fetch(
        """SELECT n.nspname, p.proname::text AS name, p.oid::regprocedure::text AS signature,
                  format('%I.%I', n.nspname, p.proname) AS qname,
                  format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS qsignature,
                  EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%') AS pinned,
                  p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) x WHERE x.grantee = 0) AS public
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT IN ('information_schema', $1)
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                                      AND d.deptype = 'e')
        ORDER BY 4, 3""",
        VERSION_SCHEMA,
    )  # fmt: skip
    mutants = []
    for r in rows:
        obj = f"{r['nspname']}.{r['name']}"
        if r["pinned"]:
            mutants.append(sql_mutant(
                "function", obj, "reset-search-path", f"the definer function {obj} runs with the caller's search_path",
                f"ALTER FUNCTION {r['qsignature']} RESET search_path", r["name"], key=(obj, "search_path"),
            ))  # fmt: skip
        if not r["public"]:
            mutants.append(sql_mutant(
                "function", obj, "execute-to-public", f"every role may call the definer function {obj}",
                f"GRANT EXECUTE ON FUNCTION {r['qsignature']} TO PUBLIC", r["name"], key=(obj, "acl", "PUBLIC"),
            ))  # fmt: skip
    return mutants


GENERATORS: tuple[Generator, ...] = (
    check_mutants, not_null_mutants, unique_mutants, foreign_key_mutants, default_mutants, trigger_mutants,
    policy_mutants, index_mutants, function_mutants, grant_mutants,
)  # fmt: skip


async def catalog_mutants(dsn: str) -> list[GeneratedMutant]:
    """Every SQL mutant of the database at `dsn` (migrated, not mutated), in a stable order."""
    conn = await asyncpg.connect(dsn)
    try:
        mutants = [m for generate in GENERATORS for m in await generate(conn)]
    finally:
        await conn.close()
    seen: set[str] = set()
    for m in mutants:
        if m.id in seen:
            raise AssertionError(f"two generated mutants share the id {m.id}")
        seen.add(m.id)
    return mutants
