"""The snapshot's SQL: per object kind pg_dump emits, a query yielding one text line per object.

Each line starts with the object's name (so a difference names it) and carries every property
pg_dump would print for it. Read with `search_path = ''`, so every name is schema-qualified
whatever a migration set. Built-in objects (OID below 16384), extension members and the runner's
version schema are left out, as pg_dump leaves them out. The queries read the common tables
`SHARED` defines, and run together as `SNAPSHOT_QUERY`: one statement, planned and read once.
"""

from __future__ import annotations

from harness.migrate.runner import VERSION_SCHEMA

FIRST_USER_OID = 16384  # FirstNormalObjectId: below it, objects initdb made
USER_SCHEMA = f"""n.nspname NOT IN ('pg_catalog', 'information_schema', '{VERSION_SCHEMA}')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"""


def not_member(oid: str) -> str:
    """`oid` is not an extension member: the extension's own rows describe it."""
    return f"{oid} NOT IN (SELECT objid FROM extension_member)"


def user_object(oid: str) -> str:
    """`oid`, of an object outside any schema, was made after initdb and not by an extension."""
    return f"{oid} >= {FIRST_USER_OID} AND {not_member(oid)}"


def sorted_list(array: str) -> str:
    """An array as comma-separated text, sorted: lists whose order pg_dump does not keep."""
    return f"""(SELECT string_agg(x::text, ',' ORDER BY x::text COLLATE "C") FROM unnest({array}) AS x)"""


def acl(column: str, kind: str, owner: str) -> str:  # kind: an SQL "char" expression, e.g. "'n'"
    """An ACL, sorted, a NULL written as the default it stands for (granting then revoking
    compares equal to never granting)."""
    return sorted_list(f"coalesce({column}, acldefault({kind}, {owner}))")


def without_options(definition: str, options: str) -> str:
    """An index's definition less its `WITH (…)`, which keeps the options in the order they were
    set (ruleutils' flatten_reloptions spelling); the line carries them sorted instead."""
    spelled = f"""(SELECT ' WITH (' || string_agg(quote_ident(split_part(o, '=', 1)) || '=' || CASE
        WHEN quote_ident(substr(o, strpos(o, '=') + 1)) = substr(o, strpos(o, '=') + 1)
        THEN substr(o, strpos(o, '=') + 1) ELSE quote_literal(substr(o, strpos(o, '=') + 1)) END, ', ') || ')'
        FROM unnest({options}) AS o)"""
    return f"CASE WHEN {options} IS NULL THEN {definition} ELSE replace({definition}, {spelled}, '') END"


def owner(column: str) -> str:
    return f"pg_get_userbyid({column})"


RELATION_ACL_KIND = """CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\""""

SCHEMA_OBJECTS: dict[str, str] = {
    "schemas": f"""
        SELECT format('%s owner=%s acl=%s', n.nspname, {owner("n.nspowner")}, {acl("n.nspacl", "'n'", "n.nspowner")})
        FROM user_namespace n WHERE {not_member("n.oid")}""",
    "relations": f"""
        SELECT format('%s.%s kind=%s persistence=%s rls=%s/%s owner=%s acl=%s options=%s toast_options=%s am=%s'
                      ' tablespace=%s replica_identity=%s of=%s partkey=%s bound=%s inherits=%s definition=%s',
            n.nspname, c.relname, c.relkind, c.relpersistence, c.relrowsecurity::text, c.relforcerowsecurity::text,
            {owner("c.relowner")},
            {acl("c.relacl", RELATION_ACL_KIND, "c.relowner")},
            {sorted_list("c.reloptions")},
            {sorted_list("(SELECT t.reloptions FROM pg_class t WHERE t.oid = c.reltoastrelid)")},
            (SELECT amname FROM pg_am WHERE oid = c.relam),
            (SELECT spcname FROM pg_tablespace WHERE oid = c.reltablespace), c.relreplident,
            CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END,
            pg_get_partkeydef(c.oid), pg_get_expr(c.relpartbound, c.oid),
            (SELECT string_agg(i.inhparent::regclass::text, ',' ORDER BY i.inhseqno)
             FROM pg_inherits i WHERE i.inhrelid = c.oid),
            CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
        FROM pg_class c JOIN user_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND {not_member("c.oid")}""",
    "columns": f"""
        SELECT format('%s.%s.%s #%s %s notnull=%s default=%s identity=%s generated=%s collation=%s storage=%s'
                      ' compression=%s statistics=%s options=%s fdw_options=%s acl=%s',
            n.nspname, c.relname, a.attname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
            format_type(a.atttypid, a.atttypmod), a.attnotnull::text, pg_get_expr(ad.adbin, ad.adrelid),
            a.attidentity, a.attgenerated, (SELECT collname FROM pg_collation WHERE oid = a.attcollation),
            a.attstorage, a.attcompression, coalesce(a.attstattarget::int, -1), {sorted_list("a.attoptions")},
            {sorted_list("a.attfdwoptions")}, {sorted_list("a.attacl")})
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN user_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
          AND {not_member("c.oid")}""",
    "sequences": f"""
        SELECT format('%s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s',
            s.seqrelid::regclass, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
            s.seqcache, s.seqcycle::text,
            (SELECT format('%s.%s (%s)', d.refobjid::regclass, a.attname, d.deptype) FROM pg_depend d
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refclassid = 'pg_class'::regclass
               AND d.deptype IN ('a', 'i')))
        FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN user_namespace n ON n.oid = c.relnamespace
        WHERE {not_member("c.oid")}""",
    "foreign_tables": f"""
        SELECT format('%s server=%s options=%s', f.ftrelid::regclass, s.srvname, {sorted_list("f.ftoptions")})
        FROM pg_foreign_table f JOIN pg_foreign_server s ON s.oid = f.ftserver
        JOIN pg_class c ON c.oid = f.ftrelid JOIN user_namespace n ON n.oid = c.relnamespace
        WHERE {not_member("c.oid")}""",
    # not a partition's copy of its parent's constraint (conparentid): implied, as pg_dump has it
    "constraints": f"""
        SELECT format('%s.%s %s %s', n.nspname, coalesce(c.relname, t.typname), k.conname,
            {without_options("pg_get_constraintdef(k.oid)", "x.reloptions")})
        FROM pg_constraint k JOIN user_namespace n ON n.oid = k.connamespace LEFT JOIN pg_class x ON x.oid = k.conindid
        LEFT JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_type t ON t.oid = k.contypid
        WHERE {not_member("coalesce(c.oid, t.oid)")}
        AND k.conparentid = 0""",
    "indexes": f"""
        SELECT format('%s options=%s clustered=%s replica_identity=%s statistics=%s',
            {without_options("pg_get_indexdef(i.indexrelid)", "c.reloptions")}, {sorted_list("c.reloptions")},
            i.indisclustered::text, i.indisreplident::text,
            (SELECT string_agg(a.attnum || '=' || a.attstattarget, ',' ORDER BY a.attnum) FROM pg_attribute a
             WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0))
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN user_namespace n ON n.oid = c.relnamespace
        WHERE {not_member("i.indrelid")}""",
    "statistics": f"""
        SELECT format('%s statistics=%s owner=%s', pg_get_statisticsobjdef(s.oid), coalesce(s.stxstattarget::int, -1),
            {owner("s.stxowner")})
        FROM pg_statistic_ext s JOIN user_namespace n ON n.oid = s.stxnamespace""",
    "triggers": f"""
        SELECT format('%s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN user_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND {not_member("c.oid")}""",
    "rules": f"""
        SELECT format('%s enabled=%s', pg_get_ruledef(r.oid), r.ev_enabled)
        FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN user_namespace n ON n.oid = c.relnamespace
        WHERE r.rulename <> '_RETURN' AND {not_member("c.oid")}""",
    "policies": f"""
        SELECT format('%s.%s %s %s %s roles=%s using=%s check=%s', schemaname, tablename, policyname, permissive, cmd,
            {sorted_list("roles")}, qual, with_check)
        FROM pg_policies""",
    "functions": f"""
        SELECT format('%s kind=%s returns %s args=%s language=%s owner=%s acl=%s volatility=%s strict=%s'
                      ' security_definer=%s leakproof=%s parallel=%s cost=%s rows=%s support=%s config=%s'
                      ' transforms=%s body=%s %s',
            p.oid::regprocedure, p.prokind, pg_get_function_result(p.oid), pg_get_function_arguments(p.oid),
            l.lanname, {owner("p.proowner")}, {acl("p.proacl", "'f'", "p.proowner")}, p.provolatile,
            p.proisstrict::text, p.prosecdef::text, p.proleakproof::text, p.proparallel, p.procost, p.prorows,
            p.prosupport, {sorted_list("p.proconfig")},
            (SELECT string_agg(format_type(x, NULL), ',') FROM unnest(p.protrftypes) AS x),
            coalesce(pg_get_function_sqlbody(p.oid), p.prosrc), p.probin)
        FROM pg_proc p JOIN user_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
        WHERE {not_member("p.oid")}""",
    "aggregates": f"""
        SELECT format('%s %s transtype=%s mtranstype=%s sortop=%s', a.aggfnoid::regprocedure,
            to_jsonb(a) - 'aggfnoid' - 'aggtranstype' - 'aggmtranstype' - 'aggsortop',
            format_type(a.aggtranstype, NULL), format_type(nullif(a.aggmtranstype, 0), NULL),
            nullif(a.aggsortop, 0)::regoperator)
        FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid JOIN user_namespace n ON n.oid = p.pronamespace
        WHERE {not_member("p.oid")}""",
    "types": f"""
        SELECT format('%s.%s %s %s base=%s owner=%s acl=%s default=%s notnull=%s collation=%s%s%s',
            n.nspname, t.typname, t.typtype,
            (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
            {owner("t.typowner")}, {acl("t.typacl", "'T'", "t.typowner")}, t.typdefault, t.typnotnull::text,
            (SELECT collname FROM pg_collation WHERE oid = t.typcollation),
            (SELECT format(' subtype=%s opclass=%s collation=%s canonical=%s subdiff=%s multirange=%s',
                           format_type(r.rngsubtype, NULL), pg_describe_object('pg_opclass'::regclass, r.rngsubopc, 0),
                           (SELECT collname FROM pg_collation WHERE oid = r.rngcollation), r.rngcanonical,
                           r.rngsubdiff, format_type(r.rngmultitypid, NULL))
             FROM pg_range r WHERE r.rngtypid = t.oid),
            CASE WHEN t.typtype = 'b' THEN format(
                ' io=%s/%s/%s/%s/%s/%s/%s length=%s byvalue=%s align=%s storage=%s category=%s preferred=%s'
                ' delimiter=%s element=%s', t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout,
                t.typanalyze, t.typlen, t.typbyval::text, t.typalign, t.typstorage, t.typcategory,
                t.typispreferred::text, t.typdelim, format_type(nullif(t.typelem, 0), NULL)) END)
        FROM pg_type t JOIN user_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r', 'm', 'p') AND {not_member("t.oid")}
          AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_type a WHERE a.typarray = t.oid)""",
    "operators": f"""
        SELECT format('%s function=%s restrict=%s join=%s commutator=%s negator=%s hashes=%s merges=%s owner=%s',
            o.oid::regoperator, o.oprcode, o.oprrest, o.oprjoin, nullif(o.oprcom, 0)::regoperator,
            nullif(o.oprnegate, 0)::regoperator, o.oprcanhash::text, o.oprcanmerge::text, {owner("o.oprowner")})
        FROM pg_operator o JOIN user_namespace n ON n.oid = o.oprnamespace
        WHERE {not_member("o.oid")}""",
    "operator_families": f"""
        SELECT format('%s owner=%s', pg_describe_object('pg_opfamily'::regclass, f.oid, 0), {owner("f.opfowner")})
        FROM pg_opfamily f JOIN user_namespace n ON n.oid = f.opfnamespace
        WHERE {not_member("f.oid")}""",
    "operator_classes": f"""
        SELECT format('%s family=%s type=%s default=%s storage=%s owner=%s',
            pg_describe_object('pg_opclass'::regclass, c.oid, 0),
            pg_describe_object('pg_opfamily'::regclass, c.opcfamily, 0),
            format_type(c.opcintype, NULL), c.opcdefault::text, format_type(nullif(c.opckeytype, 0), NULL),
            {owner("c.opcowner")})
        FROM pg_opclass c JOIN user_namespace n ON n.oid = c.opcnamespace
        WHERE {not_member("c.oid")}""",
    "operator_family_members": f"""
        SELECT format('%s purpose=%s sort_family=%s', pg_describe_object('pg_amop'::regclass, m.oid, 0), m.amoppurpose,
            pg_describe_object('pg_opfamily'::regclass, nullif(m.amopsortfamily, 0), 0))
        FROM pg_amop m JOIN pg_opfamily f ON f.oid = m.amopfamily JOIN user_namespace n ON n.oid = f.opfnamespace
        WHERE {not_member("f.oid")}
        UNION ALL
        SELECT pg_describe_object('pg_amproc'::regclass, m.oid, 0)
        FROM pg_amproc m JOIN pg_opfamily f ON f.oid = m.amprocfamily JOIN user_namespace n ON n.oid = f.opfnamespace
        WHERE {not_member("f.oid")}""",
    "collations": f"""
        SELECT format('%s.%s %s owner=%s', n.nspname, c.collname,
            to_jsonb(c) - 'oid' - 'collname' - 'collnamespace' - 'collowner' - 'collversion', {owner("c.collowner")})
        FROM pg_collation c JOIN user_namespace n ON n.oid = c.collnamespace
        WHERE {not_member("c.oid")}""",
    "conversions": f"""
        SELECT format('%s.%s %s to %s function=%s default=%s owner=%s', n.nspname, c.conname,
            pg_encoding_to_char(c.conforencoding), pg_encoding_to_char(c.contoencoding), c.conproc,
            c.condefault::text, {owner("c.conowner")})
        FROM pg_conversion c JOIN user_namespace n ON n.oid = c.connamespace
        WHERE {not_member("c.oid")}""",
    "text_search": f"""
        SELECT format('parser %s.%s %s/%s/%s/%s/%s', n.nspname, p.prsname, p.prsstart, p.prstoken, p.prsend,
            p.prsheadline, p.prslextype)
        FROM pg_ts_parser p JOIN user_namespace n ON n.oid = p.prsnamespace WHERE {not_member("p.oid")}
        UNION ALL
        SELECT format('template %s.%s %s/%s', n.nspname, t.tmplname, t.tmplinit, t.tmpllexize)
        FROM pg_ts_template t JOIN user_namespace n ON n.oid = t.tmplnamespace
        WHERE {not_member("t.oid")}
        UNION ALL
        SELECT format('dictionary %s template=%s options=%s owner=%s', d.oid::regdictionary,
            (SELECT format('%s.%s', tn.nspname, t.tmplname) FROM pg_ts_template t
             JOIN pg_namespace tn ON tn.oid = t.tmplnamespace WHERE t.oid = d.dicttemplate),
            d.dictinitoption, {owner("d.dictowner")})
        FROM pg_ts_dict d JOIN user_namespace n ON n.oid = d.dictnamespace WHERE {not_member("d.oid")}
        UNION ALL
        SELECT format('configuration %s parser=%s owner=%s', c.oid::regconfig,
            (SELECT format('%s.%s', pn.nspname, p.prsname) FROM pg_ts_parser p
             JOIN pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = c.cfgparser), {owner("c.cfgowner")})
        FROM pg_ts_config c JOIN user_namespace n ON n.oid = c.cfgnamespace WHERE {not_member("c.oid")}
        UNION ALL
        SELECT format('mapping %s %s: %s', c.oid::regconfig, t.alias,
            string_agg(m.mapdict::regdictionary::text, ',' ORDER BY m.mapseqno))
        FROM pg_ts_config_map m JOIN pg_ts_config c ON c.oid = m.mapcfg JOIN user_namespace n ON n.oid = c.cfgnamespace
        CROSS JOIN LATERAL ts_token_type(c.cfgparser) AS t
        WHERE t.tokid = m.maptokentype AND {not_member("c.oid")}
        GROUP BY c.oid, t.alias""",
}

OUTSIDE_SCHEMAS: dict[str, str] = {
    "extensions": """
        SELECT format('%s version=%s schema=%s config=%s', e.extname, e.extversion, en.nspname,
            (SELECT string_agg(x.c::regclass || coalesce(' ' || x.w, ''), ',' ORDER BY x.c::regclass::text)
             FROM unnest(e.extconfig, e.extcondition) AS x(c, w)))
        FROM pg_extension e JOIN pg_namespace en ON en.oid = e.extnamespace""",
    "casts": f"""
        SELECT format('%s function=%s context=%s method=%s', pg_describe_object('pg_cast'::regclass, c.oid, 0),
            nullif(c.castfunc, 0)::regprocedure, c.castcontext, c.castmethod)
        FROM pg_cast c WHERE {user_object("c.oid")}""",
    "languages": f"""
        SELECT format('%s trusted=%s handler=%s inline=%s validator=%s owner=%s acl=%s',
            l.lanname, l.lanpltrusted::text,
            nullif(l.lanplcallfoid, 0)::regprocedure, nullif(l.laninline, 0)::regprocedure,
            nullif(l.lanvalidator, 0)::regprocedure, {owner("l.lanowner")}, {acl("l.lanacl", "'l'", "l.lanowner")})
        FROM pg_language l WHERE {user_object("l.oid")}""",
    "access_methods": f"""
        SELECT format('%s type=%s handler=%s', a.amname, a.amtype, a.amhandler) FROM pg_am a
        WHERE {user_object("a.oid")}""",
    "transforms": f"""
        SELECT format('%s from_sql=%s to_sql=%s', pg_describe_object('pg_transform'::regclass, t.oid, 0),
            nullif(t.trffromsql, 0)::regprocedure, nullif(t.trftosql, 0)::regprocedure)
        FROM pg_transform t WHERE {user_object("t.oid")}""",
    "foreign_data": f"""
        SELECT format('wrapper %s handler=%s validator=%s options=%s owner=%s acl=%s', w.fdwname,
            nullif(w.fdwhandler, 0)::regprocedure, nullif(w.fdwvalidator, 0)::regprocedure,
            {sorted_list("w.fdwoptions")}, {owner("w.fdwowner")}, {acl("w.fdwacl", "'F'", "w.fdwowner")})
        FROM pg_foreign_data_wrapper w WHERE {user_object("w.oid")}
        UNION ALL
        SELECT format('server %s wrapper=%s type=%s version=%s options=%s owner=%s acl=%s', s.srvname, w.fdwname,
            s.srvtype, s.srvversion, {sorted_list("s.srvoptions")}, {owner("s.srvowner")},
            {acl("s.srvacl", "'S'", "s.srvowner")})
        FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE {user_object("s.oid")}
        UNION ALL
        SELECT format('user mapping for %s server %s options=%s', m.usename, m.srvname, {sorted_list("m.umoptions")})
        FROM pg_user_mappings m WHERE {user_object("m.srvid")}""",
    "publications": f"""
        SELECT format('%s %s owner=%s', p.pubname, to_jsonb(p) - 'oid' - 'pubname' - 'pubowner', {owner("p.pubowner")})
        FROM pg_publication p
        UNION ALL
        SELECT format('%s: table %s columns=%s where=%s', p.pubname, r.prrelid::regclass,
            (SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a
             WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs)), pg_get_expr(r.prqual, r.prrelid))
        FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
        UNION ALL
        SELECT format('%s: tables in schema %s', p.pubname, s.pnnspid::regnamespace)
        FROM pg_publication_namespace s JOIN pg_publication p ON p.oid = s.pnpubid""",
    "subscriptions": f"""
        SELECT format('%s owner=%s enabled=%s binary=%s stream=%s two_phase=%s disable_on_error=%s slot=%s'
                      ' synchronous_commit=%s publications=%s origin=%s',
            s.subname, {owner("s.subowner")}, s.subenabled::text, s.subbinary::text, s.substream, s.subtwophasestate,
            s.subdisableonerr::text, s.subslotname, s.subsynccommit, {sorted_list("s.subpublications")}, s.suborigin)
        FROM pg_subscription s WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())""",
    "event_triggers": f"""
        SELECT format('%s event=%s function=%s enabled=%s tags=%s owner=%s', t.evtname, t.evtevent,
            t.evtfoid::regprocedure, t.evtenabled, {sorted_list("t.evttags")}, {owner("t.evtowner")})
        FROM pg_event_trigger t WHERE {not_member("t.oid")}""",
    "default_privileges": f"""
        SELECT format('%s in %s on %s: %s', {owner("d.defaclrole")},
            coalesce(nullif(d.defaclnamespace, 0)::regnamespace::text, '*'), d.defaclobjtype,
            {sorted_list("d.defaclacl")})
        FROM pg_default_acl d""",
    "extension_members": """
        SELECT format('%s: %s', e.extname, pg_describe_object(d.classid, d.objid, d.objsubid))
        FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'""",
    "comments": f"""
        SELECT format('%s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
        FROM pg_description d CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) AS o
        WHERE {user_object("d.objoid")} AND coalesce(o.schema, '') <> '{VERSION_SCHEMA}'
          AND NOT (o.type = 'schema' AND o.identity = '{VERSION_SCHEMA}')""",
    "security_labels": f"""
        SELECT format('%s [%s]: %s', pg_describe_object(s.classoid, s.objoid, s.objsubid), s.provider, s.label)
        FROM pg_seclabel s WHERE {user_object("s.objoid")}""",
    "database": f"""
        SELECT format('acl=%s settings=%s comment=%s labels=%s', {acl("d.datacl", "'d'", "d.datdba")},
            (SELECT string_agg(format('%s:%s', coalesce(pg_get_userbyid(nullif(s.setrole, 0)), '*'),
                                      {sorted_list("s.setconfig")}), ';' ORDER BY s.setrole)
             FROM pg_db_role_setting s WHERE s.setdatabase = d.oid),
            shobj_description(d.oid, 'pg_database'),
            (SELECT string_agg(format('[%s] %s', l.provider, l.label), ',' ORDER BY l.provider) FROM pg_shseclabel l
             WHERE l.classoid = 'pg_database'::regclass AND l.objoid = d.oid))
        FROM pg_database d WHERE d.datname = current_database()""",
}

ROLES_IN_VIEW = "(SELECT oid FROM role_in_view)"

ROLE_QUERIES: dict[str, str] = {
    "roles": f"""
        SELECT format('%s super=%s inherit=%s createrole=%s createdb=%s login=%s replication=%s bypassrls=%s'
                      ' connection_limit=%s valid_until=%s settings=%s comment=%s labels=%s',
            r.rolname, r.rolsuper::text, r.rolinherit::text, r.rolcreaterole::text, r.rolcreatedb::text,
            r.rolcanlogin::text, r.rolreplication::text, r.rolbypassrls::text, r.rolconnlimit, r.rolvaliduntil,
            {sorted_list("r.rolconfig")}, shobj_description(r.oid, 'pg_authid'),
            (SELECT string_agg(format('[%s] %s', l.provider, l.label), ',' ORDER BY l.provider) FROM pg_shseclabel l
             WHERE l.classoid = 'pg_authid'::regclass AND l.objoid = r.oid))
        FROM pg_roles r WHERE r.oid IN {ROLES_IN_VIEW}""",
    "role_memberships": f"""
        SELECT format('%s in %s admin=%s inherit=%s set=%s grantor=%s', pg_get_userbyid(m.member),
            pg_get_userbyid(m.roleid), m.admin_option::text, m.inherit_option::text, m.set_option::text,
            pg_get_userbyid(m.grantor))
        FROM pg_auth_members m WHERE m.member IN {ROLES_IN_VIEW} OR m.roleid IN {ROLES_IN_VIEW}""",
}

QUERIES: dict[str, str] = {**SCHEMA_OBJECTS, **OUTSIDE_SCHEMAS}

# What the queries share, read once: extension members, the user's schemas, and the roles in view
# ($1: the names the migrations spell; and the roles this database's objects refer to).
SHARED = f"""WITH extension_member AS MATERIALIZED (SELECT objid FROM pg_depend WHERE deptype = 'e'),
user_namespace AS MATERIALIZED (SELECT * FROM pg_namespace n WHERE {USER_SCHEMA}),
role_in_view AS MATERIALIZED (
    SELECT r.oid FROM pg_roles r WHERE r.rolname NOT LIKE 'pg\\_%' AND (r.rolname = ANY ($1::text[])
        OR r.oid IN (SELECT s.refobjid FROM pg_shdepend s WHERE s.refclassid = 'pg_authid'::regclass
                     AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()))))
"""
KINDS = {**QUERIES, **ROLE_QUERIES}
SNAPSHOT_QUERY = SHARED + "\nUNION ALL\n".join(
    f"SELECT '{kind}', line FROM ({sql}) AS q(line)" for kind, sql in KINDS.items()
)
