-- 0007 down: merge the partitions back into one table, exactly as 0003 and 0006 left it.
-- harness:loses-data drops what 0007 adds (saved_prompts.history_created_at, history_request_ids) and the partitioned history once its rows are copied into the single table
-- squawk-ignore-file prefer-robust-stmts, require-concurrent-index-creation, adding-foreign-key-constraint, disallowed-unique-constraint, constraint-missing-not-valid, ban-drop-column, ban-drop-table
-- (rebuilt under an exclusive lock in this transaction, as the up migration did)

LOCK TABLE prompts.history, prompts.saved_prompts IN ACCESS EXCLUSIVE MODE;

DROP TRIGGER saved_prompts_fill_history_created_at ON prompts.saved_prompts;
DROP FUNCTION prompts.saved_prompts_fill_history_created_at();
ALTER TABLE prompts.saved_prompts DROP CONSTRAINT saved_prompts_history_fkey;
ALTER TABLE prompts.saved_prompts DROP CONSTRAINT saved_prompts_history_link_check;
ALTER TABLE prompts.saved_prompts DROP COLUMN history_created_at;

ALTER TABLE prompts.history RENAME TO history_partitioned;
CREATE TABLE prompts.history (LIKE prompts.history_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
INSERT INTO prompts.history SELECT * FROM prompts.history_partitioned;
DROP TABLE prompts.history_partitioned;
DROP TABLE prompts.history_request_ids;
DROP FUNCTION prompts.history_track_request_id();
DROP FUNCTION prompts.ensure_history_partitions(integer);
DROP FUNCTION prompts.create_history_partition(date);

ALTER TABLE prompts.history ADD CONSTRAINT history_pkey PRIMARY KEY (id);
ALTER TABLE prompts.history ADD CONSTRAINT history_request_id_key UNIQUE (request_id);
ALTER TABLE prompts.history ADD CONSTRAINT history_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE SET NULL;
ALTER TABLE prompts.history ADD CONSTRAINT history_session_id_fkey
    FOREIGN KEY (session_id) REFERENCES auth.sessions (id) ON DELETE SET NULL;
CREATE INDEX history_user_created_at_idx ON prompts.history (user_id, created_at DESC, id DESC);
CREATE INDEX history_user_favorites_idx ON prompts.history (user_id, created_at DESC) WHERE is_favorite;
CREATE INDEX history_techniques_used_idx ON prompts.history USING gin (techniques_used);
CREATE INDEX history_intent_created_at_idx ON prompts.history (intent, created_at DESC);
CREATE INDEX history_session_id_idx ON prompts.history (session_id);
CREATE INDEX history_created_at_brin_idx ON prompts.history USING brin (created_at);
CREATE TRIGGER history_set_updated_at BEFORE UPDATE ON prompts.history
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

ALTER TABLE prompts.saved_prompts ADD CONSTRAINT saved_prompts_history_id_fkey
    FOREIGN KEY (history_id) REFERENCES prompts.history (id) ON DELETE SET NULL;

ALTER TABLE prompts.history OWNER TO bp_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON prompts.history TO bp_app;
GRANT SELECT ON prompts.history TO bp_readonly;
ALTER TABLE prompts.history ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_owner ON prompts.history TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY history_readonly ON prompts.history FOR SELECT TO bp_readonly USING (true);
