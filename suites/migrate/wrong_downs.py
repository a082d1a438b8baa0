"""A corpus of changes whose down is wrong by exactly one edit, one per kind of object and property
`pg_dump --schema-only` (and `pg_dumpall --roles-only`) prints.

Each case is a change (its up and its correct down), made on top of an optional setup migration,
and the one edit that makes the down wrong. `@` stands for a name of the case's own (its schema;
`@_r` a role), made unique per run so cases share a server and a history without colliding.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Case:
    up: str
    down: str
    edit: tuple[str, str]  # (in the correct down, what the wrong down has instead); "" leaves it out
    named: str  # the object the failure must name
    setup: tuple[str, str] | None = None  # an up and down applied before the change

    def wrong_down(self) -> str:
        old, new = self.edit
        assert self.down.count(old) == 1, f"the edit {old!r} must occur once in the down"
        return self.down.replace(old, new) or "SELECT 1;  -- a down must hold a statement\n"


def left_out(statement: str) -> tuple[str, str]:
    return (statement, "")


# setups: a table (with a foreign key, a view, a sequence), a function, a role, a domain
TABLE = (
    "CREATE SCHEMA @;\n"
    "CREATE TABLE @.t (id int PRIMARY KEY, name text NOT NULL, body text,\n"
    "                  parent int CONSTRAINT t_parent_fkey REFERENCES @.t);\n"
    "CREATE VIEW @.v AS SELECT id, name FROM @.t WHERE id > 0;\n"
    "CREATE SEQUENCE @.s;\n"
    "CREATE INDEX t_lower_name_idx ON @.t (lower(name));\n",
    "DROP SEQUENCE @.s;\nDROP VIEW @.v;\nDROP TABLE @.t;\nDROP SCHEMA @;\n",
)
FUNCTION = (
    "CREATE SCHEMA @;\nCREATE FUNCTION @.f(a int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + 1';\n",
    "DROP FUNCTION @.f(int);\nDROP SCHEMA @;\n",
)
ROLE = ("CREATE ROLE @_r;\nCREATE ROLE @_m;\n", "DROP ROLE @_m;\nDROP ROLE @_r;\n")
TYPES = (
    "CREATE SCHEMA @;\nCREATE DOMAIN @.d AS int;\nCREATE TYPE @.e AS ENUM ('a', 'b');\n"
    "CREATE TYPE @.c AS (a int, b text);\n",
    "DROP TYPE @.c;\nDROP TYPE @.e;\nDROP DOMAIN @.d;\nDROP SCHEMA @;\n",
)
FOREIGN = (
    "CREATE SCHEMA @;\nCREATE FOREIGN DATA WRAPPER @_w;\nCREATE SERVER @_s FOREIGN DATA WRAPPER @_w OPTIONS (host 'h');\n"
    "CREATE FOREIGN TABLE @.ft (a int) SERVER @_s;\n",
    "DROP FOREIGN TABLE @.ft;\nDROP SERVER @_s;\nDROP FOREIGN DATA WRAPPER @_w;\nDROP SCHEMA @;\n",
)
TABLE_ROLE = (ROLE[0] + TABLE[0], TABLE[1] + ROLE[1])
FUNCTION_ROLE = (ROLE[0] + FUNCTION[0], FUNCTION[1] + ROLE[1])
MEMBER = (ROLE[0] + "GRANT @_r TO @_m;\n", "REVOKE @_r FROM @_m;\n" + ROLE[1])
PUBLICATION = (TABLE[0] + "CREATE PUBLICATION @_p;\n", "DROP PUBLICATION @_p;\n" + TABLE[1])
EVENT_FUNCTION = (
    "CREATE SCHEMA @;\nCREATE FUNCTION @.et() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;\n",
    "DROP FUNCTION @.et();\nDROP SCHEMA @;\n",
)
EVENT_TRIGGER = "CREATE EVENT TRIGGER @_et ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION @.et();\n"
IN_DATABASE = "DO $$ BEGIN EXECUTE format('{}', current_database()); END $$;\n"


def on_database(statement: str) -> str:
    """`statement` with `%I` standing for the scratch database, whose name a migration cannot know."""
    return IN_DATABASE.format(statement.replace("'", "''"))


def aggregate(initial: str) -> str:
    return f"CREATE AGGREGATE @.total(int) (SFUNC = int4pl, STYPE = int, INITCOND = '{initial}');\n"


def change(up: str, down: str, edit: tuple[str, str] | None = None, named: str = "@", setup: tuple[str, str] | None = None) -> Case:
    """A case whose wrong down, unless told otherwise, leaves out the whole correct down."""
    return Case(up, down, edit or left_out(down), named, setup)


WRONG_DOWNS = [
    # comments
    pytest.param(change("COMMENT ON TABLE @.t IS 'people';\n", "COMMENT ON TABLE @.t IS NULL;\n", named="table @.t: people", setup=TABLE), id="comment-table"),
    pytest.param(change("COMMENT ON COLUMN @.t.name IS 'n';\n", "COMMENT ON COLUMN @.t.name IS NULL;\n", named="column name of table @.t", setup=TABLE), id="comment-column"),
    pytest.param(change("COMMENT ON SCHEMA @ IS 's';\n", "COMMENT ON SCHEMA @ IS NULL;\n", named="schema @: s", setup=TABLE), id="comment-schema"),
    pytest.param(change("COMMENT ON VIEW @.v IS 'v';\n", "COMMENT ON VIEW @.v IS NULL;\n", named="view @.v: v", setup=TABLE), id="comment-view"),
    pytest.param(change("COMMENT ON CONSTRAINT t_pkey ON @.t IS 'k';\n", "COMMENT ON CONSTRAINT t_pkey ON @.t IS NULL;\n", named="constraint t_pkey on table @.t", setup=TABLE), id="comment-constraint"),
    pytest.param(change("COMMENT ON INDEX @.t_lower_name_idx IS 'i';\n", "COMMENT ON INDEX @.t_lower_name_idx IS NULL;\n", named="index @.t_lower_name_idx", setup=TABLE), id="comment-index"),
    pytest.param(change("COMMENT ON SEQUENCE @.s IS 'q';\n", "COMMENT ON SEQUENCE @.s IS NULL;\n", named="sequence @.s", setup=TABLE), id="comment-sequence"),
    pytest.param(change("COMMENT ON FUNCTION @.f(int) IS 'f';\n", "COMMENT ON FUNCTION @.f(int) IS NULL;\n", named="function @.f(integer)", setup=FUNCTION), id="comment-function"),
    pytest.param(change("COMMENT ON DOMAIN @.d IS 'd';\n", "COMMENT ON DOMAIN @.d IS NULL;\n", named="type @.d", setup=TYPES), id="comment-domain"),
    pytest.param(change("COMMENT ON ROLE @_r IS 'r';\n", "COMMENT ON ROLE @_r IS NULL;\n", named="@_r ", setup=ROLE), id="comment-role"),
    pytest.param(change(on_database("COMMENT ON DATABASE %I IS 'db'"), on_database("COMMENT ON DATABASE %I IS NULL"), named="database: - acl="), id="comment-database"),
    # columns: storage, compression, statistics, options, defaults, types, privileges
    pytest.param(change("ALTER TABLE @.t ALTER body SET STORAGE EXTERNAL;\n", "ALTER TABLE @.t ALTER body SET STORAGE EXTENDED;\n", named="@.t.body", setup=TABLE), id="column-storage"),
    pytest.param(change("ALTER TABLE @.t ALTER body SET COMPRESSION pglz;\n", "ALTER TABLE @.t ALTER body SET COMPRESSION DEFAULT;\n", named="@.t.body", setup=TABLE), id="column-compression"),
    pytest.param(change("ALTER TABLE @.t ALTER name SET STATISTICS 500;\n", "ALTER TABLE @.t ALTER name SET STATISTICS -1;\n", named="@.t.name", setup=TABLE), id="column-statistics"),
    pytest.param(change("ALTER TABLE @.t ALTER name SET (n_distinct = 100);\n", "ALTER TABLE @.t ALTER name RESET (n_distinct);\n", named="@.t.name", setup=TABLE), id="column-options"),
    pytest.param(change("ALTER TABLE @.t ALTER body SET DEFAULT 'x';\n", "ALTER TABLE @.t ALTER body DROP DEFAULT;\n", named="@.t.body", setup=TABLE), id="column-default"),
    pytest.param(change("ALTER TABLE @.t ALTER body SET NOT NULL;\n", "ALTER TABLE @.t ALTER body DROP NOT NULL;\n", named="@.t.body", setup=TABLE), id="column-not-null"),
    pytest.param(change("ALTER TABLE @.t ALTER body TYPE varchar(100);\n", "ALTER TABLE @.t ALTER body TYPE text;\n", ("text", "varchar(200)"), "@.t.body", TABLE), id="column-type"),
    pytest.param(change("ALTER TABLE @.t ALTER body TYPE text COLLATE \"C\";\n", "ALTER TABLE @.t ALTER body TYPE text COLLATE \"default\";\n", named="@.t.body", setup=TABLE), id="column-collation"),
    pytest.param(change("GRANT SELECT (name) ON @.t TO PUBLIC;\n", "REVOKE SELECT (name) ON @.t FROM PUBLIC;\n", named="@.t.name", setup=TABLE), id="column-privilege"),
    pytest.param(change("ALTER TABLE @.t ADD COLUMN extra int;\n", "ALTER TABLE @.t DROP COLUMN extra;\n", named="@.t.extra", setup=TABLE), id="column-added"),
    pytest.param(change("ALTER VIEW @.v ALTER name SET DEFAULT 'n';\n", "ALTER VIEW @.v ALTER name DROP DEFAULT;\n", named="@.v.name", setup=TABLE), id="view-column-default"),
    # tables: options, persistence, replica identity, security, owner, privileges, clustering
    pytest.param(change("ALTER TABLE @.t SET (fillfactor = 70);\n", "ALTER TABLE @.t RESET (fillfactor);\n", named="@.t kind=r", setup=TABLE), id="table-options"),
    pytest.param(change("ALTER TABLE @.t SET (toast.autovacuum_enabled = false);\n", "ALTER TABLE @.t RESET (toast.autovacuum_enabled);\n", named="@.t kind=r", setup=TABLE), id="table-toast-options"),
    pytest.param(change("ALTER TABLE @.t SET UNLOGGED;\n", "ALTER TABLE @.t SET LOGGED;\n", named="@.t kind=r", setup=TABLE), id="table-unlogged"),
    pytest.param(change("ALTER TABLE @.t REPLICA IDENTITY FULL;\n", "ALTER TABLE @.t REPLICA IDENTITY DEFAULT;\n", named="@.t kind=r", setup=TABLE), id="table-replica-identity"),
    pytest.param(change("ALTER TABLE @.t REPLICA IDENTITY USING INDEX t_pkey;\n", "ALTER TABLE @.t REPLICA IDENTITY DEFAULT;\n", named="t_pkey", setup=TABLE), id="index-replica-identity"),
    pytest.param(change("ALTER TABLE @.t ENABLE ROW LEVEL SECURITY;\nALTER TABLE @.t FORCE ROW LEVEL SECURITY;\n",
                        "ALTER TABLE @.t NO FORCE ROW LEVEL SECURITY;\nALTER TABLE @.t DISABLE ROW LEVEL SECURITY;\n",
                        left_out("ALTER TABLE @.t NO FORCE ROW LEVEL SECURITY;\n"), "@.t kind=r", TABLE), id="table-force-rls"),
    pytest.param(change("ALTER TABLE @.t OWNER TO @_r;\n", "ALTER TABLE @.t OWNER TO CURRENT_USER;\n", named="@.t kind=r", setup=TABLE_ROLE), id="table-owner"),
    pytest.param(change("GRANT SELECT, INSERT ON @.t TO PUBLIC;\n", "REVOKE SELECT, INSERT ON @.t FROM PUBLIC;\n", ("SELECT, INSERT", "SELECT"), "@.t kind=r", TABLE), id="table-privilege"),
    pytest.param(change("ALTER TABLE @.t CLUSTER ON t_pkey;\n", "ALTER TABLE @.t SET WITHOUT CLUSTER;\n", named="t_pkey", setup=TABLE), id="table-cluster-on"),
    pytest.param(change("CREATE TABLE @.u (a int);\n", "DROP TABLE @.u;\n", named="@.u", setup=TABLE), id="table-left"),
    pytest.param(change("CREATE TABLE @.child () INHERITS (@.t);\n", "DROP TABLE @.child;\n", named="@.child", setup=TABLE), id="table-inheriting-left"),
    pytest.param(change("CREATE ACCESS METHOD @_am TYPE TABLE HANDLER heap_tableam_handler;\n", "DROP ACCESS METHOD @_am;\n", named="@_am"), id="access-method-left"),
    # indexes, constraints, statistics objects
    pytest.param(change("ALTER INDEX @.t_lower_name_idx SET (fillfactor = 50);\n", "ALTER INDEX @.t_lower_name_idx RESET (fillfactor);\n", named="t_lower_name_idx", setup=TABLE), id="index-options"),
    pytest.param(change("ALTER INDEX @.t_lower_name_idx ALTER COLUMN 1 SET STATISTICS 300;\n", "ALTER INDEX @.t_lower_name_idx ALTER COLUMN 1 SET STATISTICS -1;\n", named="t_lower_name_idx", setup=TABLE), id="index-statistics"),
    pytest.param(change("CREATE UNIQUE INDEX t_name_idx ON @.t (name);\n", "DROP INDEX @.t_name_idx;\n", named="t_name_idx", setup=TABLE), id="index-left"),
    pytest.param(change("ALTER TABLE @.t ALTER CONSTRAINT t_parent_fkey DEFERRABLE;\n", "ALTER TABLE @.t ALTER CONSTRAINT t_parent_fkey NOT DEFERRABLE;\n", named="t_parent_fkey", setup=TABLE), id="constraint-deferrable"),
    pytest.param(change("ALTER TABLE @.t ADD CONSTRAINT named CHECK (name <> '') NOT VALID;\n", "ALTER TABLE @.t DROP CONSTRAINT named;\n", named="@.t named CHECK", setup=TABLE), id="constraint-left"),
    pytest.param(change("CREATE STATISTICS @.st ON id, name FROM @.t;\n", "DROP STATISTICS @.st;\n", named="@.st", setup=TABLE), id="statistics-object-left"),
    pytest.param(change("ALTER STATISTICS @.st SET STATISTICS 500;\n", "ALTER STATISTICS @.st SET STATISTICS -1;\n", named="@.st",
                        setup=(TABLE[0] + "CREATE STATISTICS @.st ON id, name FROM @.t;\n", "DROP STATISTICS @.st;\n" + TABLE[1])), id="statistics-object-target"),
    # views, materialized views, rules, triggers
    pytest.param(change("CREATE OR REPLACE VIEW @.v AS SELECT id, name FROM @.t WHERE id > 10;\n", "CREATE OR REPLACE VIEW @.v AS SELECT id, name FROM @.t WHERE id > 0;\n", ("id > 0", "id > 1"), "@.v kind=v", TABLE), id="view-definition"),
    pytest.param(change("ALTER VIEW @.v SET (security_barrier = true);\n", "ALTER VIEW @.v RESET (security_barrier);\n", named="@.v kind=v", setup=TABLE), id="view-options"),
    pytest.param(change("ALTER VIEW @.v SET (check_option = local);\n", "ALTER VIEW @.v RESET (check_option);\n", named="@.v kind=v", setup=TABLE), id="view-check-option"),
    pytest.param(change("CREATE MATERIALIZED VIEW @.mv AS SELECT id FROM @.t;\n", "DROP MATERIALIZED VIEW @.mv;\n", named="@.mv", setup=TABLE), id="materialized-view-left"),
    pytest.param(change("CREATE RULE r AS ON INSERT TO @.v DO INSTEAD NOTHING;\n", "DROP RULE r ON @.v;\n", named="CREATE RULE r", setup=TABLE), id="rule-left"),
    pytest.param(change("ALTER TABLE @.t DISABLE RULE r;\n", "ALTER TABLE @.t ENABLE RULE r;\n", named="CREATE RULE r",
                        setup=(TABLE[0] + "CREATE RULE r AS ON DELETE TO @.t DO ALSO NOTHING;\n", "DROP RULE r ON @.t;\n" + TABLE[1])), id="rule-disabled"),
    pytest.param(change("ALTER TABLE @.t DISABLE TRIGGER tr;\n", "ALTER TABLE @.t ENABLE TRIGGER tr;\n", named="CREATE TRIGGER tr",
                        setup=(TABLE[0] + "CREATE FUNCTION @.tf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
                               "CREATE TRIGGER tr BEFORE INSERT ON @.t FOR EACH ROW EXECUTE FUNCTION @.tf();\n",
                               "DROP TRIGGER tr ON @.t;\nDROP FUNCTION @.tf();\n" + TABLE[1])), id="trigger-disabled"),
    # sequences and identities
    pytest.param(change("ALTER SEQUENCE @.s INCREMENT BY 5;\n", "ALTER SEQUENCE @.s INCREMENT BY 1;\n", named="@.s type", setup=TABLE), id="sequence-increment"),
    pytest.param(change("ALTER SEQUENCE @.s MAXVALUE 1000;\n", "ALTER SEQUENCE @.s NO MAXVALUE;\n", named="@.s type", setup=TABLE), id="sequence-max"),
    pytest.param(change("ALTER SEQUENCE @.s CACHE 20;\n", "ALTER SEQUENCE @.s CACHE 1;\n", named="@.s type", setup=TABLE), id="sequence-cache"),
    pytest.param(change("ALTER SEQUENCE @.s CYCLE;\n", "ALTER SEQUENCE @.s NO CYCLE;\n", named="@.s type", setup=TABLE), id="sequence-cycle"),
    pytest.param(change("ALTER SEQUENCE @.s AS integer;\n", "ALTER SEQUENCE @.s AS bigint;\n", named="@.s type", setup=TABLE), id="sequence-type"),
    pytest.param(change("ALTER SEQUENCE @.s OWNED BY @.t.id;\n", "ALTER SEQUENCE @.s OWNED BY NONE;\n", named="@.s type", setup=TABLE), id="sequence-owned-by"),
    pytest.param(change("ALTER TABLE @.t ADD COLUMN n int GENERATED ALWAYS AS IDENTITY (INCREMENT BY 10);\n", "ALTER TABLE @.t DROP COLUMN n;\n",
                        ("ALTER TABLE @.t DROP COLUMN n;\n", "ALTER TABLE @.t ALTER n DROP IDENTITY;\n"), "@.t.n", TABLE), id="identity-dropped-not-column"),
    # functions, procedures, aggregates
    pytest.param(change("ALTER FUNCTION @.f(int) SET work_mem = '64MB';\n", "ALTER FUNCTION @.f(int) RESET work_mem;\n", named="@.f(integer)", setup=FUNCTION), id="function-setting"),
    pytest.param(change("ALTER FUNCTION @.f(int) STABLE;\n", "ALTER FUNCTION @.f(int) IMMUTABLE;\n", named="@.f(integer)", setup=FUNCTION), id="function-volatility"),
    pytest.param(change("ALTER FUNCTION @.f(int) COST 500;\n", "ALTER FUNCTION @.f(int) COST 100;\n", named="@.f(integer)", setup=FUNCTION), id="function-cost"),
    pytest.param(change("ALTER FUNCTION @.f(int) STRICT;\n", "ALTER FUNCTION @.f(int) CALLED ON NULL INPUT;\n", named="@.f(integer)", setup=FUNCTION), id="function-strict"),
    pytest.param(change("ALTER FUNCTION @.f(int) SECURITY DEFINER;\n", "ALTER FUNCTION @.f(int) SECURITY INVOKER;\n", named="@.f(integer)", setup=FUNCTION), id="function-security-definer"),
    pytest.param(change("ALTER FUNCTION @.f(int) LEAKPROOF;\n", "ALTER FUNCTION @.f(int) NOT LEAKPROOF;\n", named="@.f(integer)", setup=FUNCTION), id="function-leakproof"),
    pytest.param(change("ALTER FUNCTION @.f(int) PARALLEL SAFE;\n", "ALTER FUNCTION @.f(int) PARALLEL UNSAFE;\n", named="@.f(integer)", setup=FUNCTION), id="function-parallel"),
    pytest.param(change("CREATE OR REPLACE FUNCTION @.f(a int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + 2';\n",
                        "CREATE OR REPLACE FUNCTION @.f(a int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + 1';\n", ("a + 1", "a + 3"), "@.f(integer)", FUNCTION), id="function-body"),
    pytest.param(change("REVOKE EXECUTE ON FUNCTION @.f(int) FROM PUBLIC;\n", "GRANT EXECUTE ON FUNCTION @.f(int) TO PUBLIC;\n", named="@.f(integer)", setup=FUNCTION), id="function-privilege"),
    pytest.param(change("ALTER FUNCTION @.f(int) OWNER TO @_r;\n", "ALTER FUNCTION @.f(int) OWNER TO CURRENT_USER;\n", named="@.f(integer)", setup=FUNCTION_ROLE), id="function-owner"),
    pytest.param(change("CREATE PROCEDURE @.p() LANGUAGE sql AS 'SELECT 1';\n", "DROP PROCEDURE @.p();\n", named="@.p()", setup=FUNCTION), id="procedure-left"),
    pytest.param(change("DROP AGGREGATE @.total(int);\n" + aggregate("5"), "DROP AGGREGATE @.total(int);\n" + aggregate("0"), ("'0'", "'1'"),
                        "@.total(integer)", (FUNCTION[0] + aggregate("0"), "DROP AGGREGATE @.total(int);\n" + FUNCTION[1])), id="aggregate-initial-value"),
    # types: domains, enums, ranges, composites, base and shell types
    pytest.param(change("ALTER DOMAIN @.d SET DEFAULT 5;\n", "ALTER DOMAIN @.d DROP DEFAULT;\n", named="@.d d", setup=TYPES), id="domain-default"),
    pytest.param(change("ALTER DOMAIN @.d SET NOT NULL;\n", "ALTER DOMAIN @.d DROP NOT NULL;\n", named="@.d d", setup=TYPES), id="domain-not-null"),
    pytest.param(change("ALTER DOMAIN @.d ADD CONSTRAINT positive CHECK (VALUE > 0);\n", "ALTER DOMAIN @.d DROP CONSTRAINT positive;\n", named="@.d positive", setup=TYPES), id="domain-constraint"),
    pytest.param(change("ALTER TYPE @.e RENAME VALUE 'a' TO 'z';\n", "ALTER TYPE @.e RENAME VALUE 'z' TO 'a';\n", named="@.e e", setup=TYPES), id="enum-value-renamed"),
    pytest.param(change("DROP TYPE @.e;\nCREATE TYPE @.e AS ENUM ('a', 'b', 'c');\n", "DROP TYPE @.e;\nCREATE TYPE @.e AS ENUM ('a', 'b');\n",
                        ("'a', 'b'", "'b', 'a'"), "@.e e", TYPES), id="enum-order"),
    pytest.param(change("CREATE TYPE @.span AS RANGE (SUBTYPE = int4);\n", "DROP TYPE @.span;\n", named="@.span r", setup=TYPES), id="range-left"),
    pytest.param(change("DROP TYPE @.span;\nCREATE TYPE @.span AS RANGE (SUBTYPE = int8);\n", "DROP TYPE @.span;\nCREATE TYPE @.span AS RANGE (SUBTYPE = int4);\n",
                        ("int4", "int2"), "@.span r", (TYPES[0] + "CREATE TYPE @.span AS RANGE (SUBTYPE = int4);\n", "DROP TYPE @.span;\n" + TYPES[1])),
                 id="range-subtype"),
    pytest.param(change("ALTER TYPE @.c ADD ATTRIBUTE x int;\n", "ALTER TYPE @.c DROP ATTRIBUTE x;\n", named="@.c.x", setup=TYPES), id="composite-attribute"),
    pytest.param(change("ALTER TYPE @.c ALTER ATTRIBUTE b TYPE varchar(10);\n", "ALTER TYPE @.c ALTER ATTRIBUTE b TYPE text;\n", named="@.c.b", setup=TYPES), id="composite-attribute-type"),
    pytest.param(change("REVOKE USAGE ON TYPE @.d FROM PUBLIC;\n", "GRANT USAGE ON TYPE @.d TO PUBLIC;\n", named="@.d d", setup=TYPES), id="type-privilege"),
    pytest.param(change("CREATE TYPE @.shell;\n", "DROP TYPE @.shell;\n", named="@.shell p", setup=TYPES), id="shell-type-left"),
    # roles: attributes, settings, memberships
    pytest.param(change("CREATE ROLE @_new;\n", "DROP ROLE @_new;\n", named="@_new super=false"), id="role-left"),
    pytest.param(change("ALTER ROLE @_r CREATEDB;\n", "ALTER ROLE @_r NOCREATEDB;\n", named="@_r super", setup=ROLE), id="role-createdb"),
    pytest.param(change("ALTER ROLE @_r LOGIN;\n", "ALTER ROLE @_r NOLOGIN;\n", named="@_r super", setup=ROLE), id="role-login"),
    pytest.param(change("ALTER ROLE @_r BYPASSRLS;\n", "ALTER ROLE @_r NOBYPASSRLS;\n", named="@_r super", setup=ROLE), id="role-bypassrls"),
    pytest.param(change("ALTER ROLE @_r NOINHERIT;\n", "ALTER ROLE @_r INHERIT;\n", named="@_r super", setup=ROLE), id="role-inherit"),
    pytest.param(change("ALTER ROLE @_r CONNECTION LIMIT 5;\n", "ALTER ROLE @_r CONNECTION LIMIT -1;\n", named="@_r super", setup=ROLE), id="role-connection-limit"),
    pytest.param(change("ALTER ROLE @_r VALID UNTIL '2030-01-01';\n", "ALTER ROLE @_r VALID UNTIL '2031-01-01';\n", ("2031", "2032"), "@_r super",
                        ("CREATE ROLE @_r VALID UNTIL '2031-01-01';\nCREATE ROLE @_m;\n", ROLE[1])), id="role-valid-until"),
    pytest.param(change("ALTER ROLE @_r SET work_mem = '8MB';\n", "ALTER ROLE @_r RESET work_mem;\n", named="@_r super", setup=ROLE), id="role-setting"),
    pytest.param(change(on_database("ALTER ROLE @_r IN DATABASE %I SET work_mem = '8MB'"), on_database("ALTER ROLE @_r IN DATABASE %I RESET work_mem"),
                        named="@_r:work_mem", setup=ROLE), id="role-setting-in-database"),
    pytest.param(change("GRANT @_r TO @_m;\n", "REVOKE @_r FROM @_m;\n", named="@_m in @_r", setup=ROLE), id="role-membership"),
    pytest.param(change("GRANT @_r TO @_m WITH ADMIN OPTION;\n", "REVOKE ADMIN OPTION FOR @_r FROM @_m;\n", named="@_m in @_r", setup=MEMBER), id="role-membership-admin"),
    pytest.param(change("GRANT @_r TO @_m WITH SET FALSE;\n", "GRANT @_r TO @_m WITH SET TRUE;\n", named="@_m in @_r", setup=MEMBER), id="role-membership-set"),
    pytest.param(change("GRANT @_r TO @_m WITH INHERIT FALSE;\n", "GRANT @_r TO @_m WITH INHERIT TRUE;\n", named="@_m in @_r", setup=MEMBER), id="role-membership-inherit"),
    # schemas, default privileges, policies
    pytest.param(change("GRANT USAGE ON SCHEMA @ TO PUBLIC;\n", "REVOKE USAGE ON SCHEMA @ FROM PUBLIC;\n", named="@ owner=", setup=TABLE), id="schema-privilege"),
    pytest.param(change("ALTER SCHEMA @ OWNER TO @_r;\n", "ALTER SCHEMA @ OWNER TO CURRENT_USER;\n", named="@ owner=", setup=TABLE_ROLE), id="schema-owner"),
    pytest.param(change("ALTER DEFAULT PRIVILEGES IN SCHEMA @ GRANT SELECT ON TABLES TO PUBLIC;\n", "ALTER DEFAULT PRIVILEGES IN SCHEMA @ REVOKE SELECT ON TABLES FROM PUBLIC;\n",
                        named="in @ on r", setup=TABLE), id="default-privileges-in-schema"),
    pytest.param(change("ALTER DEFAULT PRIVILEGES FOR ROLE @_r REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;\n",
                        "ALTER DEFAULT PRIVILEGES FOR ROLE @_r GRANT EXECUTE ON FUNCTIONS TO PUBLIC;\n", named="@_r in * on f", setup=ROLE), id="default-privileges-for-role"),
    pytest.param(change("ALTER TABLE @.t ENABLE ROW LEVEL SECURITY;\nCREATE POLICY p ON @.t USING (id > 0);\n", "DROP POLICY p ON @.t;\nALTER TABLE @.t DISABLE ROW LEVEL SECURITY;\n",
                        left_out("DROP POLICY p ON @.t;\n"), "@.t p PERMISSIVE", TABLE), id="policy-left"),
    pytest.param(change("CREATE POLICY p ON @.t USING (id > 0);\nALTER POLICY p ON @.t USING (id > 5);\n", "DROP POLICY p ON @.t;\n",
                        ("DROP POLICY p ON @.t;\n", "ALTER POLICY p ON @.t USING (id > 1);\n"), "@.t p PERMISSIVE", TABLE), id="policy-expression"),
    # extensions, publications, event triggers, casts, operators, collations, conversions, text search
    pytest.param(change("CREATE EXTENSION citext SCHEMA @;\n", "DROP EXTENSION citext;\n", named="citext version=", setup=TABLE), id="extension-left"),
    pytest.param(change("ALTER EXTENSION seg DROP FUNCTION @.seg_size(@.seg);\n", "ALTER EXTENSION seg ADD FUNCTION @.seg_size(@.seg);\n", named="@.seg_size",
                        setup=("CREATE SCHEMA @;\nCREATE EXTENSION seg SCHEMA @;\n", "DROP EXTENSION seg;\nDROP SCHEMA @;\n")), id="extension-member-dropped"),
    pytest.param(change("CREATE PUBLICATION @_p FOR TABLE @.t;\n", "DROP PUBLICATION @_p;\n", named="@_p", setup=TABLE), id="publication-left"),
    pytest.param(change("ALTER PUBLICATION @_p ADD TABLE @.t;\n", "ALTER PUBLICATION @_p DROP TABLE @.t;\n", named="@_p: table @.t", setup=PUBLICATION), id="publication-table"),
    pytest.param(change("ALTER PUBLICATION @_p ADD TABLES IN SCHEMA @;\n", "ALTER PUBLICATION @_p DROP TABLES IN SCHEMA @;\n", named="@_p: tables in schema @", setup=PUBLICATION), id="publication-schema"),
    pytest.param(change("ALTER PUBLICATION @_p SET (publish = 'insert');\n", "ALTER PUBLICATION @_p SET (publish = 'insert, update, delete, truncate');\n", named="@_p {", setup=PUBLICATION), id="publication-options"),
    pytest.param(change(EVENT_TRIGGER, "DROP EVENT TRIGGER @_et;\n", named="@_et event", setup=EVENT_FUNCTION), id="event-trigger-left"),
    pytest.param(change("ALTER EVENT TRIGGER @_et DISABLE;\n", "ALTER EVENT TRIGGER @_et ENABLE;\n", named="@_et event",
                        setup=(EVENT_FUNCTION[0] + EVENT_TRIGGER, "DROP EVENT TRIGGER @_et;\n" + EVENT_FUNCTION[1])), id="event-trigger-disabled"),
    pytest.param(change("CREATE CAST (@.c AS text) WITH INOUT;\n", "DROP CAST (@.c AS text);\n", named="cast from @.c to text", setup=TYPES), id="cast-left"),
    pytest.param(change("CREATE OPERATOR @.### (RIGHTARG = int, FUNCTION = @.f);\n", "DROP OPERATOR @.### (NONE, int);\n", named="@.###", setup=FUNCTION), id="operator-left"),
    pytest.param(change("CREATE OPERATOR FAMILY @.fam USING btree;\n", "DROP OPERATOR FAMILY @.fam USING btree;\n", named="operator family @.fam", setup=FUNCTION), id="operator-family-left"),
    pytest.param(change("CREATE COLLATION @.co FROM \"C\";\n", "DROP COLLATION @.co;\n", named="@.co", setup=TABLE), id="collation-left"),
    pytest.param(change("CREATE CONVERSION @.cv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;\n", "DROP CONVERSION @.cv;\n", named="@.cv", setup=TABLE), id="conversion-left"),
    pytest.param(change("CREATE TEXT SEARCH CONFIGURATION @.ts (COPY = pg_catalog.simple);\n", "DROP TEXT SEARCH CONFIGURATION @.ts;\n",
                        named="configuration @.ts", setup=TABLE), id="text-search-configuration-left"),
    pytest.param(change("CREATE TEXT SEARCH CONFIGURATION @.ts (COPY = pg_catalog.simple);\nALTER TEXT SEARCH CONFIGURATION @.ts DROP MAPPING FOR word;\n",
                        "DROP TEXT SEARCH CONFIGURATION @.ts;\n",
                        ("DROP TEXT SEARCH CONFIGURATION @.ts;\n", "ALTER TEXT SEARCH CONFIGURATION @.ts ADD MAPPING FOR word WITH simple;\n"),
                        "configuration @.ts", TABLE), id="text-search-mapping"),
    pytest.param(change("CREATE TEXT SEARCH DICTIONARY @.dict (TEMPLATE = pg_catalog.simple, ACCEPT = false);\n", "DROP TEXT SEARCH DICTIONARY @.dict;\n",
                        named="dictionary @.dict", setup=TABLE), id="text-search-dictionary-left"),
    # foreign data
    pytest.param(change("ALTER SERVER @_s OPTIONS (ADD port '5432');\n", "ALTER SERVER @_s OPTIONS (DROP port);\n", named="server @_s", setup=FOREIGN), id="server-options"),
    pytest.param(change("CREATE USER MAPPING FOR PUBLIC SERVER @_s;\n", "DROP USER MAPPING FOR PUBLIC SERVER @_s;\n", named="user mapping for public server @_s", setup=FOREIGN), id="user-mapping-left"),
    pytest.param(change("ALTER FOREIGN TABLE @.ft OPTIONS (ADD t 'x');\n", "ALTER FOREIGN TABLE @.ft OPTIONS (DROP t);\n", named="@.ft server", setup=FOREIGN), id="foreign-table-options"),
    pytest.param(change("ALTER FOREIGN TABLE @.ft ALTER a OPTIONS (ADD c 'x');\n", "ALTER FOREIGN TABLE @.ft ALTER a OPTIONS (DROP c);\n", named="@.ft.a", setup=FOREIGN), id="foreign-column-options"),
    pytest.param(change("GRANT USAGE ON FOREIGN SERVER @_s TO PUBLIC;\n", "REVOKE USAGE ON FOREIGN SERVER @_s FROM PUBLIC;\n", named="server @_s", setup=FOREIGN), id="server-privilege"),
    # the database
    pytest.param(change(on_database("ALTER DATABASE %I SET work_mem = '8MB'"), on_database("ALTER DATABASE %I RESET work_mem"), named="*:work_mem=8MB"), id="database-setting"),
    pytest.param(change(on_database("GRANT CREATE ON DATABASE %I TO PUBLIC"), on_database("REVOKE CREATE ON DATABASE %I FROM PUBLIC"), named="database: - acl="), id="database-privilege"),
]  # fmt: skip

# Correct downs that come back by another road: order of grants, options, settings, members
ANOTHER_ORDER = [
    pytest.param(change("REVOKE SELECT ON @.t FROM @_a;\n", "GRANT SELECT ON @.t TO @_a;\n",
                        setup=("CREATE ROLE @_a;\nCREATE ROLE @_b;\n" + TABLE[0] + "GRANT SELECT ON @.t TO @_a, @_b;\n",
                               "REVOKE ALL ON @.t FROM @_a, @_b;\n" + TABLE[1] + "DROP ROLE @_b;\nDROP ROLE @_a;\n")), id="revoke-then-grant-back"),
    pytest.param(change("REVOKE SELECT (name) ON @.t FROM PUBLIC;\n", "GRANT SELECT (name) ON @.t TO PUBLIC;\n",
                        setup=(TABLE[0] + "GRANT SELECT (name) ON @.t TO PUBLIC;\n", TABLE[1])), id="column-revoke-then-grant-back"),
    pytest.param(change("ALTER TABLE @.t RESET (fillfactor);\n", "ALTER TABLE @.t SET (fillfactor = 70);\n",
                        setup=(TABLE[0] + "ALTER TABLE @.t SET (fillfactor = 70, autovacuum_enabled = false);\n", TABLE[1])), id="reset-then-set-back"),
    pytest.param(change("ALTER INDEX @.t_lower_name_idx RESET (fillfactor);\n", "ALTER INDEX @.t_lower_name_idx SET (fillfactor = 60);\n",
                        setup=(TABLE[0] + "ALTER INDEX @.t_lower_name_idx SET (fillfactor = 60, deduplicate_items = off);\n", TABLE[1])),
                 id="index-reset-then-set-back"),
    pytest.param(change("ALTER FUNCTION @.f(int) RESET work_mem;\n", "ALTER FUNCTION @.f(int) SET work_mem = '64MB';\n",
                        setup=(FUNCTION[0] + "ALTER FUNCTION @.f(int) SET work_mem = '64MB';\nALTER FUNCTION @.f(int) SET search_path = pg_catalog;\n",
                               FUNCTION[1])), id="function-setting-reset-then-set-back"),
    pytest.param(change("ALTER ROLE @_r RESET work_mem;\n", "ALTER ROLE @_r SET work_mem = '8MB';\n",
                        setup=("CREATE ROLE @_r;\nALTER ROLE @_r SET work_mem = '8MB';\nALTER ROLE @_r SET statement_timeout = '5s';\n", "DROP ROLE @_r;\n")),
                 id="role-setting-reset-then-set-back"),
    pytest.param(change("ALTER TABLE @.t ALTER id DROP IDENTITY;\n", "ALTER TABLE @.t ALTER id ADD GENERATED ALWAYS AS IDENTITY;\n",
                        setup=("CREATE SCHEMA @;\nCREATE TABLE @.t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY);\n", "DROP TABLE @.t;\nDROP SCHEMA @;\n")),
                 id="identity-re-created"),
    pytest.param(change("ALTER DEFAULT PRIVILEGES IN SCHEMA @ REVOKE SELECT ON TABLES FROM @_a;\n",
                        "ALTER DEFAULT PRIVILEGES IN SCHEMA @ GRANT SELECT ON TABLES TO @_a;\n",
                        setup=("CREATE ROLE @_a;\nCREATE ROLE @_b;\nCREATE SCHEMA @;\n"
                               "ALTER DEFAULT PRIVILEGES IN SCHEMA @ GRANT SELECT ON TABLES TO @_a, @_b;\n",
                               "ALTER DEFAULT PRIVILEGES IN SCHEMA @ REVOKE SELECT ON TABLES FROM @_a, @_b;\nDROP SCHEMA @;\n"
                               "DROP ROLE @_b;\nDROP ROLE @_a;\n")), id="default-privileges-revoke-then-grant-back"),
    pytest.param(change("ALTER POLICY p ON @.t TO @_b;\n", "ALTER POLICY p ON @.t TO @_b, @_a;\n",
                        setup=("CREATE ROLE @_a;\nCREATE ROLE @_b;\n" + TABLE[0] + "CREATE POLICY p ON @.t TO @_a, @_b USING (true);\n",
                               "DROP POLICY p ON @.t;\n" + TABLE[1] + "DROP ROLE @_b;\nDROP ROLE @_a;\n")), id="policy-roles-in-another-order"),
    pytest.param(change("REVOKE @_r FROM @_m;\n", "GRANT @_r TO @_m;\n", setup=(ROLE[0] + "GRANT @_r TO @_m;\n", ROLE[1])),
                 id="membership-revoke-then-grant-back"),
    pytest.param(change(on_database("ALTER DATABASE %I RESET lock_timeout"), on_database("ALTER DATABASE %I SET lock_timeout = '5s'"),
                        setup=(on_database("ALTER DATABASE %I SET lock_timeout = '5s'") + on_database("ALTER DATABASE %I SET statement_timeout = '1min'"),
                               on_database("ALTER DATABASE %I RESET statement_timeout") + on_database("ALTER DATABASE %I RESET lock_timeout"))),
                 id="database-setting-reset-then-set-back"),
]  # fmt: skip
