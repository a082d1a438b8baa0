-- 0008: least privilege for the application role. 0006 gave bp_app every command on every table
-- and one policy per table for all commands, so it could delete shared embeddings, move a row to
-- another owner, promote itself and reset its own lockout. Here:
--   * one policy per command, with WITH CHECK on INSERT and UPDATE, so a row stays its owner's;
--   * column-level INSERT and UPDATE grants: role, tier, verification, lockout and counters change
--     only through SECURITY DEFINER functions that own those operations;
--   * shared reference data (templates, intent patterns, technique effectiveness, shared
--     embeddings) is read-only to bp_app; counters and API metrics go through functions that
--     validate their input;
--   * the application logs in as bp_app itself instead of a superuser that SETs ROLE. LOGIN and
--     passwords are the deployment's (the harness sets the development ones from
--     schema/postgres/logins.toml): roles belong to the whole server, so a migration of one
--     database, or its down, must not change who may log in to all of them.
-- squawk-ignore-file prefer-robust-stmts

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';

-- ---------------------------------------------------------------------------------------------
-- Grants: nothing on a table unless listed here.
REVOKE ALL ON auth.users, auth.sessions, auth.api_keys, auth.user_preferences, prompts.templates,
    prompts.history, prompts.intent_patterns, prompts.saved_prompts, prompts.collections,
    prompts.collection_prompts, prompts.embeddings, analytics.technique_effectiveness,
    analytics.user_activity, analytics.daily_stats, analytics.api_metrics FROM bp_app;

GRANT SELECT, DELETE ON auth.users TO bp_app;
GRANT INSERT (id, email, username, password_hash, first_name, last_name, avatar_url, preferences, metadata,
              verification_token_hash, verification_expires_at) ON auth.users TO bp_app;
GRANT UPDATE (email, username, password_hash, first_name, last_name, avatar_url, preferences, metadata,
              verification_token_hash, verification_expires_at, reset_token_hash, reset_expires_at)
    ON auth.users TO bp_app;

GRANT SELECT, DELETE ON auth.sessions TO bp_app;
GRANT INSERT (id, user_id, token_hash, refresh_token_hash, user_agent, ip_address, expires_at)
    ON auth.sessions TO bp_app;
GRANT UPDATE (token_hash, refresh_token_hash, expires_at, last_activity_at, revoked_at) ON auth.sessions TO bp_app;

GRANT SELECT, DELETE ON auth.api_keys TO bp_app;
GRANT INSERT (id, user_id, name, key_prefix, key_hash, scopes, rate_limit, rate_limit_window_seconds, expires_at)
    ON auth.api_keys TO bp_app;
GRANT UPDATE (name, is_active) ON auth.api_keys TO bp_app;

GRANT SELECT, DELETE ON auth.user_preferences TO bp_app;
GRANT INSERT (id, user_id, preferred_techniques, excluded_techniques, complexity_preference, ui_theme, ui_language,
              email_notifications, analytics_opt_in, custom_settings) ON auth.user_preferences TO bp_app;
GRANT UPDATE (preferred_techniques, excluded_techniques, complexity_preference, ui_theme, ui_language,
              email_notifications, analytics_opt_in, custom_settings) ON auth.user_preferences TO bp_app;

GRANT SELECT ON prompts.templates, prompts.intent_patterns TO bp_app;

GRANT SELECT, DELETE ON prompts.history TO bp_app;
GRANT INSERT (id, user_id, session_id, request_id, original_input, enhanced_output, intent, intent_confidence,
              complexity, techniques_used, technique_scores, processing_time_ms, token_count, model_version,
              feedback_score, feedback_text, is_favorite, metadata, created_at) ON prompts.history TO bp_app;
GRANT UPDATE (feedback_score, feedback_text, is_favorite, metadata) ON prompts.history TO bp_app;

GRANT SELECT, DELETE ON prompts.saved_prompts TO bp_app;
GRANT INSERT (id, user_id, history_id, history_created_at, title, description, prompt_text, tags, is_public,
              share_token, metadata) ON prompts.saved_prompts TO bp_app;
GRANT UPDATE (history_id, history_created_at, title, description, prompt_text, tags, is_public, share_token,
              metadata) ON prompts.saved_prompts TO bp_app;

GRANT SELECT, DELETE ON prompts.collections TO bp_app;
GRANT INSERT (id, user_id, name, description, is_public, metadata) ON prompts.collections TO bp_app;
GRANT UPDATE (name, description, is_public, metadata) ON prompts.collections TO bp_app;

GRANT SELECT, DELETE ON prompts.collection_prompts TO bp_app;
GRANT INSERT (id, collection_id, saved_prompt_id, position) ON prompts.collection_prompts TO bp_app;
GRANT UPDATE (position) ON prompts.collection_prompts TO bp_app;

GRANT SELECT, DELETE ON prompts.embeddings TO bp_app;
GRANT INSERT (id, source_type, source_id, user_id, intent, embedding, model_version, metadata)
    ON prompts.embeddings TO bp_app;
GRANT UPDATE (intent, embedding, model_version, metadata) ON prompts.embeddings TO bp_app;

GRANT SELECT ON analytics.technique_effectiveness, analytics.daily_stats TO bp_app;
GRANT SELECT ON analytics.user_activity TO bp_app;
GRANT INSERT (id, user_id, activity_type, data, session_id, ip_address, user_agent)
    ON analytics.user_activity TO bp_app;

-- partition maintenance is the owner's monthly job
REVOKE EXECUTE ON FUNCTION prompts.create_history_partition(date), prompts.ensure_history_partitions(integer)
    FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Policies: one per command. "Own" is user_id = the transaction's app.user_id.
DROP POLICY users_self ON auth.users;
CREATE POLICY users_select ON auth.users FOR SELECT TO bp_app USING (id = auth.current_user_id());
CREATE POLICY users_insert ON auth.users FOR INSERT TO bp_app WITH CHECK (id = auth.current_user_id());
CREATE POLICY users_update ON auth.users FOR UPDATE TO bp_app
    USING (id = auth.current_user_id()) WITH CHECK (id = auth.current_user_id());
CREATE POLICY users_delete ON auth.users FOR DELETE TO bp_app USING (id = auth.current_user_id());

DROP POLICY sessions_owner ON auth.sessions;
CREATE POLICY sessions_select ON auth.sessions FOR SELECT TO bp_app USING (user_id = auth.current_user_id());
CREATE POLICY sessions_insert ON auth.sessions FOR INSERT TO bp_app WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY sessions_update ON auth.sessions FOR UPDATE TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY sessions_delete ON auth.sessions FOR DELETE TO bp_app USING (user_id = auth.current_user_id());

DROP POLICY api_keys_owner ON auth.api_keys;
CREATE POLICY api_keys_select ON auth.api_keys FOR SELECT TO bp_app USING (user_id = auth.current_user_id());
CREATE POLICY api_keys_insert ON auth.api_keys FOR INSERT TO bp_app WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY api_keys_update ON auth.api_keys FOR UPDATE TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY api_keys_delete ON auth.api_keys FOR DELETE TO bp_app USING (user_id = auth.current_user_id());

DROP POLICY user_preferences_owner ON auth.user_preferences;
CREATE POLICY user_preferences_select ON auth.user_preferences FOR SELECT TO bp_app
    USING (user_id = auth.current_user_id());
CREATE POLICY user_preferences_insert ON auth.user_preferences FOR INSERT TO bp_app
    WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY user_preferences_update ON auth.user_preferences FOR UPDATE TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY user_preferences_delete ON auth.user_preferences FOR DELETE TO bp_app
    USING (user_id = auth.current_user_id());

DROP POLICY history_owner ON prompts.history;
CREATE POLICY history_select ON prompts.history FOR SELECT TO bp_app USING (user_id = auth.current_user_id());
CREATE POLICY history_insert ON prompts.history FOR INSERT TO bp_app WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY history_update ON prompts.history FOR UPDATE TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY history_delete ON prompts.history FOR DELETE TO bp_app USING (user_id = auth.current_user_id());

DROP POLICY saved_prompts_owner ON prompts.saved_prompts;
CREATE POLICY saved_prompts_select ON prompts.saved_prompts FOR SELECT TO bp_app
    USING (user_id = auth.current_user_id());
CREATE POLICY saved_prompts_insert ON prompts.saved_prompts FOR INSERT TO bp_app
    WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY saved_prompts_update ON prompts.saved_prompts FOR UPDATE TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY saved_prompts_delete ON prompts.saved_prompts FOR DELETE TO bp_app
    USING (user_id = auth.current_user_id());

DROP POLICY collections_owner ON prompts.collections;
CREATE POLICY collections_select ON prompts.collections FOR SELECT TO bp_app
    USING (user_id = auth.current_user_id());
CREATE POLICY collections_insert ON prompts.collections FOR INSERT TO bp_app
    WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY collections_update ON prompts.collections FOR UPDATE TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY collections_delete ON prompts.collections FOR DELETE TO bp_app
    USING (user_id = auth.current_user_id());

-- an entry belongs to its collection's owner, and only the owner's own saved prompts go in
DROP POLICY collection_prompts_owner ON prompts.collection_prompts;
CREATE POLICY collection_prompts_select ON prompts.collection_prompts FOR SELECT TO bp_app
    USING (EXISTS (SELECT 1 FROM prompts.collections c
                   WHERE c.id = collection_id AND c.user_id = auth.current_user_id()));
CREATE POLICY collection_prompts_insert ON prompts.collection_prompts FOR INSERT TO bp_app
    WITH CHECK (EXISTS (SELECT 1 FROM prompts.collections c
                        WHERE c.id = collection_id AND c.user_id = auth.current_user_id())
                AND EXISTS (SELECT 1 FROM prompts.saved_prompts s
                            WHERE s.id = saved_prompt_id AND s.user_id = auth.current_user_id()));
CREATE POLICY collection_prompts_update ON prompts.collection_prompts FOR UPDATE TO bp_app
    USING (EXISTS (SELECT 1 FROM prompts.collections c
                   WHERE c.id = collection_id AND c.user_id = auth.current_user_id()))
    WITH CHECK (EXISTS (SELECT 1 FROM prompts.collections c
                        WHERE c.id = collection_id AND c.user_id = auth.current_user_id()));
CREATE POLICY collection_prompts_delete ON prompts.collection_prompts FOR DELETE TO bp_app
    USING (EXISTS (SELECT 1 FROM prompts.collections c
                   WHERE c.id = collection_id AND c.user_id = auth.current_user_id()));

-- shared embeddings (no user: templates, patterns, anonymous history) are read by everyone and
-- written by the owner only; a user's own are theirs, and only of their own kinds of source
DROP POLICY embeddings_owner ON prompts.embeddings;
CREATE POLICY embeddings_select ON prompts.embeddings FOR SELECT TO bp_app
    USING (user_id IS NULL OR user_id = auth.current_user_id());
CREATE POLICY embeddings_insert ON prompts.embeddings FOR INSERT TO bp_app
    WITH CHECK (user_id = auth.current_user_id() AND source_type IN ('history', 'saved_prompt'));
CREATE POLICY embeddings_update ON prompts.embeddings FOR UPDATE TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY embeddings_delete ON prompts.embeddings FOR DELETE TO bp_app USING (user_id = auth.current_user_id());

DROP POLICY user_activity_owner ON analytics.user_activity;
CREATE POLICY user_activity_select ON analytics.user_activity FOR SELECT TO bp_app
    USING (user_id = auth.current_user_id());
CREATE POLICY user_activity_insert ON analytics.user_activity FOR INSERT TO bp_app
    WITH CHECK (user_id = auth.current_user_id());

-- ---------------------------------------------------------------------------------------------
-- The operations that own what bp_app may not write. SECURITY DEFINER as bp_owner (whom RLS does
-- not bind) with a pinned search_path; each checks its caller's claim itself.

-- a correct password: the acting user's counters reset and the login is stamped
CREATE FUNCTION auth.record_login_success(p_user_id uuid) RETURNS SETOF auth.users
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_user_id IS DISTINCT FROM auth.current_user_id() THEN
        RAISE EXCEPTION 'a login is recorded for the acting user only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY UPDATE auth.users SET failed_login_attempts = 0, locked_until = NULL, last_login_at = now()
                 WHERE id = p_user_id RETURNING *;
END
$$;

-- a wrong password: one more attempt, and a lock once they reach the limit (both bounded)
CREATE FUNCTION auth.record_login_failure(p_user_id uuid, p_max_attempts integer, p_lockout interval)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    attempts integer;
    max_attempts integer := least(greatest(p_max_attempts, 1), 100);
    lockout interval := least(greatest(p_lockout, interval '1 second'), interval '1 day');
BEGIN
    IF p_user_id IS DISTINCT FROM auth.current_user_id() THEN
        RAISE EXCEPTION 'a failed login is recorded for the acting user only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE auth.users SET failed_login_attempts = failed_login_attempts + 1,
                          locked_until = CASE WHEN failed_login_attempts + 1 >= max_attempts THEN now() + lockout END
    WHERE id = p_user_id RETURNING failed_login_attempts INTO attempts;
    RETURN attempts;
END
$$;

-- a verified API key: its use counted (the key must be the acting user's)
CREATE FUNCTION auth.use_api_key(p_key_id uuid) RETURNS SETOF auth.api_keys
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE auth.api_keys SET usage_count = usage_count + 1, last_used_at = now()
    WHERE id = p_key_id AND user_id = auth.current_user_id() RETURNING *
$$;

-- a shared prompt opened by its link: the prompt, its view counted
CREATE FUNCTION prompts.open_shared_prompt(p_share_token text)
    RETURNS TABLE (id uuid, title text, description text, prompt_text text, tags text[], created_at timestamptz)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE prompts.saved_prompts p SET view_count = p.view_count + 1
    WHERE p.share_token = p_share_token AND p.is_public
    RETURNING p.id, p.title, p.description, p.prompt_text, p.tags, p.created_at
$$;

-- one use of a technique for an intent on a day; the CHECKs refuse unknown names
CREATE FUNCTION analytics.count_technique(p_technique text, p_intent text, p_day date, p_succeeded boolean,
                                          p_processing_time_ms real) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_day IS NULL OR p_day > current_date + 1 THEN
        RAISE EXCEPTION 'day % is not a day that has traffic yet', p_day
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'day';
    END IF;
    IF p_succeeded IS NULL OR p_processing_time_ms IS NULL OR p_processing_time_ms < 0
       OR p_processing_time_ms >= 'Infinity'::real THEN
        RAISE EXCEPTION 'processing time % ms is not a duration', p_processing_time_ms
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'processing_time_ms';
    END IF;
    INSERT INTO analytics.technique_effectiveness AS te
        (technique, intent, day, success_count, total_count, avg_processing_time_ms)
    VALUES (p_technique, p_intent, p_day, p_succeeded::integer, 1, p_processing_time_ms)
    ON CONFLICT (technique, intent, day) DO UPDATE SET
        success_count = te.success_count + excluded.success_count,
        total_count = te.total_count + 1,
        avg_processing_time_ms = (coalesce(te.avg_processing_time_ms, 0) * te.total_count
                                  + excluded.avg_processing_time_ms) / (te.total_count + 1);
END
$$;

-- a success of an already counted use (positive feedback): never more successes than uses
CREATE FUNCTION analytics.count_success(p_technique text, p_intent text, p_day date) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE analytics.technique_effectiveness SET success_count = least(success_count + 1, total_count)
    WHERE technique = p_technique AND intent = p_intent AND day = p_day
$$;

-- an enhancement without a user: history, embedding and counters at once. RLS admits no row
-- without an owner, so this is the only way such a row is written as bp_app.
CREATE FUNCTION prompts.record_anonymous_enhancement(
    p_request_id text, p_original_input text, p_enhanced_output text, p_intent text, p_intent_confidence real,
    p_complexity text, p_techniques_used text[], p_technique_scores jsonb, p_processing_time_ms integer,
    p_token_count integer, p_model_version text, p_embedding public.vector, p_embedding_model text
) RETURNS SETOF prompts.history
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    entry prompts.history;
    technique text;
BEGIN
    IF auth.current_user_id() IS NOT NULL THEN
        RAISE EXCEPTION 'an anonymous enhancement has no acting user' USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO prompts.history (user_id, request_id, original_input, enhanced_output, intent, intent_confidence,
                                 complexity, techniques_used, technique_scores, processing_time_ms, token_count,
                                 model_version)
    VALUES (NULL, p_request_id, p_original_input, p_enhanced_output, p_intent, p_intent_confidence, p_complexity,
            coalesce(p_techniques_used, '{}'), coalesce(p_technique_scores, '{}'), p_processing_time_ms,
            p_token_count, p_model_version)
    RETURNING * INTO entry;
    IF p_embedding IS NOT NULL THEN
        INSERT INTO prompts.embeddings (source_type, source_id, user_id, intent, embedding, model_version)
        VALUES ('history', entry.id, NULL, p_intent, p_embedding, p_embedding_model);
    END IF;
    IF p_intent IS NOT NULL THEN
        FOREACH technique IN ARRAY entry.techniques_used LOOP
            PERFORM analytics.count_technique(technique, p_intent, (entry.created_at AT TIME ZONE 'UTC')::date,
                                              false, p_processing_time_ms::real);
        END LOOP;
    END IF;
    RETURN NEXT entry;
END
$$;

-- a request's metrics; the API key, if any, must be the acting user's
CREATE FUNCTION analytics.record_api_metric(
    p_api_key_id uuid, p_endpoint text, p_method text, p_status_code integer, p_response_time_ms real,
    p_request_size_bytes integer, p_response_size_bytes integer, p_error_message text
) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    metric_id uuid;
BEGIN
    IF p_api_key_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM auth.api_keys k WHERE k.id = p_api_key_id AND k.user_id = auth.current_user_id()
    ) THEN
        RAISE EXCEPTION 'API key % is not the acting user''s', p_api_key_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_response_time_ms IS NULL OR p_response_time_ms < 0 OR p_response_time_ms >= 'Infinity'::real THEN
        RAISE EXCEPTION 'response time % ms is not a duration', p_response_time_ms
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'response_time_ms';
    END IF;
    INSERT INTO analytics.api_metrics (api_key_id, endpoint, method, status_code, response_time_ms,
                                       request_size_bytes, response_size_bytes, error_message)
    VALUES (p_api_key_id, p_endpoint, p_method, p_status_code, p_response_time_ms, p_request_size_bytes,
            p_response_size_bytes, p_error_message)
    RETURNING id INTO metric_id;
    RETURN metric_id;
END
$$;

ALTER FUNCTION auth.record_login_success(uuid) OWNER TO bp_owner;
ALTER FUNCTION auth.record_login_failure(uuid, integer, interval) OWNER TO bp_owner;
ALTER FUNCTION auth.use_api_key(uuid) OWNER TO bp_owner;
ALTER FUNCTION prompts.open_shared_prompt(text) OWNER TO bp_owner;
ALTER FUNCTION analytics.count_technique(text, text, date, boolean, real) OWNER TO bp_owner;
ALTER FUNCTION analytics.count_success(text, text, date) OWNER TO bp_owner;
ALTER FUNCTION prompts.record_anonymous_enhancement(text, text, text, text, real, text, text[], jsonb, integer,
                                                    integer, text, public.vector, text) OWNER TO bp_owner;
ALTER FUNCTION analytics.record_api_metric(uuid, text, text, integer, real, integer, integer, text) OWNER TO bp_owner;
REVOKE EXECUTE ON FUNCTION auth.record_login_success(uuid), auth.record_login_failure(uuid, integer, interval),
    auth.use_api_key(uuid), prompts.open_shared_prompt(text), analytics.count_technique(text, text, date, boolean, real),
    analytics.count_success(text, text, date),
    prompts.record_anonymous_enhancement(text, text, text, text, real, text, text[], jsonb, integer, integer, text,
                                         public.vector, text),
    analytics.record_api_metric(uuid, text, text, integer, real, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.record_login_success(uuid), auth.record_login_failure(uuid, integer, interval),
    auth.use_api_key(uuid), prompts.open_shared_prompt(text), analytics.count_technique(text, text, date, boolean, real),
    analytics.count_success(text, text, date),
    prompts.record_anonymous_enhancement(text, text, text, text, real, text, text[], jsonb, integer, integer, text,
                                         public.vector, text),
    analytics.record_api_metric(uuid, text, text, integer, real, integer, integer, text) TO bp_app;
