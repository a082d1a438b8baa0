-- 0008 down: the functions, the per-command policies and the column grants go; 0006's policies
-- and table-wide grants come back as 0007 left them.
-- squawk-ignore-file prefer-robust-stmts

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';

DROP FUNCTION analytics.record_api_metric(uuid, text, text, integer, real, integer, integer, text);
DROP FUNCTION prompts.record_anonymous_enhancement(text, text, text, text, real, text, text[], jsonb, integer,
                                                   integer, text, public.vector, text);
DROP FUNCTION analytics.count_success(text, text, date);
DROP FUNCTION analytics.count_technique(text, text, date, boolean, real);
DROP FUNCTION prompts.open_shared_prompt(text);
DROP FUNCTION auth.use_api_key(uuid);
DROP FUNCTION auth.record_login_failure(uuid, integer, interval);
DROP FUNCTION auth.record_login_success(uuid);

DROP POLICY user_activity_insert ON analytics.user_activity;
DROP POLICY user_activity_select ON analytics.user_activity;
CREATE POLICY user_activity_owner ON analytics.user_activity TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

DROP POLICY embeddings_delete ON prompts.embeddings;
DROP POLICY embeddings_update ON prompts.embeddings;
DROP POLICY embeddings_insert ON prompts.embeddings;
DROP POLICY embeddings_select ON prompts.embeddings;
CREATE POLICY embeddings_owner ON prompts.embeddings TO bp_app
    USING (user_id IS NULL OR user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

DROP POLICY collection_prompts_delete ON prompts.collection_prompts;
DROP POLICY collection_prompts_update ON prompts.collection_prompts;
DROP POLICY collection_prompts_insert ON prompts.collection_prompts;
DROP POLICY collection_prompts_select ON prompts.collection_prompts;
CREATE POLICY collection_prompts_owner ON prompts.collection_prompts TO bp_app
    USING (EXISTS (SELECT 1 FROM prompts.collections c
                   WHERE c.id = collection_id AND c.user_id = auth.current_user_id()))
    WITH CHECK (EXISTS (SELECT 1 FROM prompts.collections c
                        WHERE c.id = collection_id AND c.user_id = auth.current_user_id()));

DROP POLICY collections_delete ON prompts.collections;
DROP POLICY collections_update ON prompts.collections;
DROP POLICY collections_insert ON prompts.collections;
DROP POLICY collections_select ON prompts.collections;
CREATE POLICY collections_owner ON prompts.collections TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

DROP POLICY saved_prompts_delete ON prompts.saved_prompts;
DROP POLICY saved_prompts_update ON prompts.saved_prompts;
DROP POLICY saved_prompts_insert ON prompts.saved_prompts;
DROP POLICY saved_prompts_select ON prompts.saved_prompts;
CREATE POLICY saved_prompts_owner ON prompts.saved_prompts TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

DROP POLICY history_delete ON prompts.history;
DROP POLICY history_update ON prompts.history;
DROP POLICY history_insert ON prompts.history;
DROP POLICY history_select ON prompts.history;
CREATE POLICY history_owner ON prompts.history TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

DROP POLICY user_preferences_delete ON auth.user_preferences;
DROP POLICY user_preferences_update ON auth.user_preferences;
DROP POLICY user_preferences_insert ON auth.user_preferences;
DROP POLICY user_preferences_select ON auth.user_preferences;
CREATE POLICY user_preferences_owner ON auth.user_preferences TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

DROP POLICY api_keys_delete ON auth.api_keys;
DROP POLICY api_keys_update ON auth.api_keys;
DROP POLICY api_keys_insert ON auth.api_keys;
DROP POLICY api_keys_select ON auth.api_keys;
CREATE POLICY api_keys_owner ON auth.api_keys TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

DROP POLICY sessions_delete ON auth.sessions;
DROP POLICY sessions_update ON auth.sessions;
DROP POLICY sessions_insert ON auth.sessions;
DROP POLICY sessions_select ON auth.sessions;
CREATE POLICY sessions_owner ON auth.sessions TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());

DROP POLICY users_delete ON auth.users;
DROP POLICY users_update ON auth.users;
DROP POLICY users_insert ON auth.users;
DROP POLICY users_select ON auth.users;
CREATE POLICY users_self ON auth.users TO bp_app
    USING (id = auth.current_user_id()) WITH CHECK (id = auth.current_user_id());

GRANT EXECUTE ON FUNCTION prompts.create_history_partition(date), prompts.ensure_history_partitions(integer)
    TO PUBLIC;

-- column grants go with a table-wide REVOKE ALL; then 0006's table-wide grants
REVOKE ALL ON auth.users, auth.sessions, auth.api_keys, auth.user_preferences, prompts.templates,
    prompts.history, prompts.intent_patterns, prompts.saved_prompts, prompts.collections,
    prompts.collection_prompts, prompts.embeddings, analytics.technique_effectiveness,
    analytics.user_activity, analytics.daily_stats, analytics.api_metrics FROM bp_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON auth.users, auth.sessions, auth.api_keys, auth.user_preferences,
    prompts.templates, prompts.history, prompts.intent_patterns, prompts.saved_prompts, prompts.collections,
    prompts.collection_prompts, prompts.embeddings, analytics.technique_effectiveness,
    analytics.user_activity, analytics.daily_stats, analytics.api_metrics TO bp_app;
