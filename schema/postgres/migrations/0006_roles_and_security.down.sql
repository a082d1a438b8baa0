-- 0006 down: policies, functions, grants and ownership; the roles only when no other database
-- on the server still depends on them.
-- squawk-ignore-file prefer-robust-stmts

DROP POLICY user_activity_readonly ON analytics.user_activity;
DROP POLICY user_activity_owner ON analytics.user_activity;
ALTER TABLE analytics.user_activity DISABLE ROW LEVEL SECURITY;
DROP POLICY embeddings_readonly ON prompts.embeddings;
DROP POLICY embeddings_owner ON prompts.embeddings;
ALTER TABLE prompts.embeddings DISABLE ROW LEVEL SECURITY;
DROP POLICY collection_prompts_readonly ON prompts.collection_prompts;
DROP POLICY collection_prompts_owner ON prompts.collection_prompts;
ALTER TABLE prompts.collection_prompts DISABLE ROW LEVEL SECURITY;
DROP POLICY collections_readonly ON prompts.collections;
DROP POLICY collections_owner ON prompts.collections;
ALTER TABLE prompts.collections DISABLE ROW LEVEL SECURITY;
DROP POLICY saved_prompts_readonly ON prompts.saved_prompts;
DROP POLICY saved_prompts_owner ON prompts.saved_prompts;
ALTER TABLE prompts.saved_prompts DISABLE ROW LEVEL SECURITY;
DROP POLICY history_readonly ON prompts.history;
DROP POLICY history_owner ON prompts.history;
ALTER TABLE prompts.history DISABLE ROW LEVEL SECURITY;
DROP POLICY user_preferences_readonly ON auth.user_preferences;
DROP POLICY user_preferences_owner ON auth.user_preferences;
ALTER TABLE auth.user_preferences DISABLE ROW LEVEL SECURITY;
DROP POLICY api_keys_owner ON auth.api_keys;
ALTER TABLE auth.api_keys DISABLE ROW LEVEL SECURITY;
DROP POLICY sessions_owner ON auth.sessions;
ALTER TABLE auth.sessions DISABLE ROW LEVEL SECURITY;
DROP POLICY users_readonly ON auth.users;
DROP POLICY users_self ON auth.users;
ALTER TABLE auth.users DISABLE ROW LEVEL SECURITY;

DROP FUNCTION prompts.find_shared_prompt(text);
DROP FUNCTION auth.find_api_key(text);
DROP FUNCTION auth.find_session(text);
DROP FUNCTION auth.find_login(text);
DROP FUNCTION auth.current_user_id();

REVOKE ALL ON ALL TABLES IN SCHEMA auth, prompts, analytics FROM bp_app, bp_readonly;
REVOKE ALL ON SCHEMA auth, prompts, analytics FROM bp_app, bp_readonly;

DO $$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname IN ('auth', 'prompts', 'analytics') AND c.relkind IN ('r', 'p')
               ORDER BY c.oid
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO %I', rel, current_user);
    END LOOP;
    EXECUTE format('ALTER SCHEMA auth OWNER TO %I', current_user);
    EXECUTE format('ALTER SCHEMA prompts OWNER TO %I', current_user);
    EXECUTE format('ALTER SCHEMA analytics OWNER TO %I', current_user);
END
$$;

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['bp_readonly', 'bp_app', 'bp_owner'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
                       WHERE r.rolname = name
                         AND d.dbid <> (SELECT oid FROM pg_database WHERE datname = current_database())) THEN
            EXECUTE format('DROP ROLE %I', name);
        END IF;
    END LOOP;
END
$$;
