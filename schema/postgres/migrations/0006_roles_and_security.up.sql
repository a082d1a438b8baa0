-- 0006: roles, grants and row-level security.
--   bp_owner    owns the schemas and tables (migrations run as a superuser or a member of it)
--   bp_app      the services: DML only, and under RLS sees only the rows of the user named by the
--               transaction's `app.user_id` setting
--   bp_readonly reporting: SELECT everywhere except secrets (hashes, sessions, keys)
-- Roles belong to the whole server: they are created when missing and dropped by the down
-- migration only when no other database still depends on them.
-- squawk-ignore-file prefer-robust-stmts

-- fail fast instead of queueing behind (and blocking) live traffic
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bp_owner') THEN
        CREATE ROLE bp_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bp_app') THEN
        CREATE ROLE bp_app LOGIN;        -- its password is set by the deployment, never here
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bp_readonly') THEN
        CREATE ROLE bp_readonly LOGIN;
    END IF;
END
$$;

-- ownership: the application role is not the owner, so row-level security applies to it
ALTER SCHEMA auth OWNER TO bp_owner;
ALTER SCHEMA prompts OWNER TO bp_owner;
ALTER SCHEMA analytics OWNER TO bp_owner;
DO $$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname IN ('auth', 'prompts', 'analytics') AND c.relkind IN ('r', 'p')
               ORDER BY c.oid
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO bp_owner', rel);
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA auth, prompts, analytics TO bp_app, bp_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA auth, prompts, analytics TO bp_app;
GRANT SELECT ON ALL TABLES IN SCHEMA prompts, analytics TO bp_readonly;
GRANT SELECT (id, email, username, first_name, last_name, avatar_url, is_active, is_verified, role, tier,
              preferences, metadata, last_login_at, failed_login_attempts, locked_until, created_at, updated_at)
    ON auth.users TO bp_readonly;
GRANT SELECT ON auth.user_preferences TO bp_readonly;

-- The user a transaction acts for: SET LOCAL app.user_id = '<uuid>'.
CREATE FUNCTION auth.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$;

-- Look-ups made before the acting user is known (login, a bearer token, an API key, a share
-- link). SECURITY DEFINER as bp_owner, which RLS does not bind; each returns only what the
-- caller needs to go on.
CREATE FUNCTION auth.find_login(p_email text)
    RETURNS TABLE (id uuid, password_hash text, is_active boolean, failed_login_attempts integer,
                   locked_until timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT u.id, u.password_hash, u.is_active, u.failed_login_attempts, u.locked_until
    FROM auth.users u WHERE lower(u.email) = lower(p_email)
$$;
CREATE FUNCTION auth.find_session(p_token_hash text)
    RETURNS TABLE (id uuid, user_id uuid, expires_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.id, s.user_id, s.expires_at, s.revoked_at FROM auth.sessions s WHERE s.token_hash = p_token_hash
$$;
CREATE FUNCTION auth.find_api_key(p_key_hash text)
    RETURNS TABLE (id uuid, user_id uuid, scopes text[], rate_limit integer, rate_limit_window_seconds integer,
                   expires_at timestamptz, is_active boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT k.id, k.user_id, k.scopes, k.rate_limit, k.rate_limit_window_seconds, k.expires_at, k.is_active
    FROM auth.api_keys k WHERE k.key_hash = p_key_hash
$$;
CREATE FUNCTION prompts.find_shared_prompt(p_share_token text)
    RETURNS TABLE (id uuid, title text, description text, prompt_text text, tags text[], created_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.id, p.title, p.description, p.prompt_text, p.tags, p.created_at
    FROM prompts.saved_prompts p WHERE p.share_token = p_share_token AND p.is_public
$$;
ALTER FUNCTION auth.find_login(text) OWNER TO bp_owner;
ALTER FUNCTION auth.find_session(text) OWNER TO bp_owner;
ALTER FUNCTION auth.find_api_key(text) OWNER TO bp_owner;
ALTER FUNCTION prompts.find_shared_prompt(text) OWNER TO bp_owner;
REVOKE EXECUTE ON FUNCTION auth.find_login(text), auth.find_session(text), auth.find_api_key(text),
    prompts.find_shared_prompt(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.find_login(text), auth.find_session(text), auth.find_api_key(text),
    prompts.find_shared_prompt(text) TO bp_app;

-- Row-level security: the application sees and writes only the acting user's rows; reporting
-- reads everything it was granted.
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_self ON auth.users TO bp_app
    USING (id = auth.current_user_id()) WITH CHECK (id = auth.current_user_id());
CREATE POLICY users_readonly ON auth.users FOR SELECT TO bp_readonly USING (true);

ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY sessions_owner ON auth.sessions TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

ALTER TABLE auth.api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_keys_owner ON auth.api_keys TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

ALTER TABLE auth.user_preferences ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_preferences_owner ON auth.user_preferences TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY user_preferences_readonly ON auth.user_preferences FOR SELECT TO bp_readonly USING (true);

ALTER TABLE prompts.history ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_owner ON prompts.history TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY history_readonly ON prompts.history FOR SELECT TO bp_readonly USING (true);

ALTER TABLE prompts.saved_prompts ENABLE ROW LEVEL SECURITY;
CREATE POLICY saved_prompts_owner ON prompts.saved_prompts TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY saved_prompts_readonly ON prompts.saved_prompts FOR SELECT TO bp_readonly USING (true);

ALTER TABLE prompts.collections ENABLE ROW LEVEL SECURITY;
CREATE POLICY collections_owner ON prompts.collections TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY collections_readonly ON prompts.collections FOR SELECT TO bp_readonly USING (true);

ALTER TABLE prompts.collection_prompts ENABLE ROW LEVEL SECURITY;
CREATE POLICY collection_prompts_owner ON prompts.collection_prompts TO bp_app
    USING (EXISTS (SELECT 1 FROM prompts.collections c
                   WHERE c.id = collection_id AND c.user_id = auth.current_user_id()))
    WITH CHECK (EXISTS (SELECT 1 FROM prompts.collections c
                        WHERE c.id = collection_id AND c.user_id = auth.current_user_id()));
CREATE POLICY collection_prompts_readonly ON prompts.collection_prompts FOR SELECT TO bp_readonly USING (true);

-- embeddings without a user (templates, patterns) are shared: readable, written only by the owner
ALTER TABLE prompts.embeddings ENABLE ROW LEVEL SECURITY;
CREATE POLICY embeddings_owner ON prompts.embeddings TO bp_app
    USING (user_id IS NULL OR user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY embeddings_readonly ON prompts.embeddings FOR SELECT TO bp_readonly USING (true);

ALTER TABLE analytics.user_activity ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_activity_owner ON analytics.user_activity TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY user_activity_readonly ON analytics.user_activity FOR SELECT TO bp_readonly USING (true);
