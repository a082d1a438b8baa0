-- 0007: prompts.history becomes range-partitioned by month on created_at, keeping every row.
-- A unique key on a partitioned table must contain the partition key, so:
--   * the primary key becomes (id, created_at), and saved_prompts points at (id, created_at)
--     (a trigger fills history_created_at, so writers still give only history_id);
--   * request ids stay unique across partitions through prompts.history_request_ids, kept by a
--     trigger; a duplicate fails on constraint history_request_id_key, as before.
-- Holds an ACCESS EXCLUSIVE lock on prompts.history while the rows move.
-- squawk-ignore-file prefer-robust-stmts, require-concurrent-index-creation, adding-foreign-key-constraint, disallowed-unique-constraint, constraint-missing-not-valid, ban-drop-table, ban-drop-constraint, renaming-table
-- (the table is rebuilt under an exclusive lock in this transaction and swapped in under its old
-- name: concurrent index builds and NOT VALID constraints would buy nothing, and nothing can write
-- meanwhile)

-- fail fast instead of queueing behind (and blocking) live traffic
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';

LOCK TABLE prompts.history, prompts.saved_prompts IN ACCESS EXCLUSIVE MODE;

ALTER TABLE prompts.saved_prompts DROP CONSTRAINT saved_prompts_history_id_fkey;
ALTER TABLE prompts.history RENAME TO history_unpartitioned;
CREATE TABLE prompts.history (LIKE prompts.history_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (created_at);

-- One month's partition, owned like its parent; a no-op when it exists.
CREATE FUNCTION prompts.create_history_partition(month date) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    first_day date := date_trunc('month', month)::date;
    name text := 'history_' || to_char(month, 'YYYY_MM');
BEGIN
    IF to_regclass(format('prompts.%I', name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE prompts.%I PARTITION OF prompts.history FOR VALUES FROM (%L) TO (%L)',
                   name, first_day, (first_day + interval '1 month')::date);
    EXECUTE format('ALTER TABLE prompts.%I OWNER TO bp_owner', name);
    RETURN true;
END
$$;
ALTER FUNCTION prompts.create_history_partition(date) OWNER TO bp_owner;

-- For a monthly job: partitions for this month and the next `months_ahead`; returns how many
-- were created.
CREATE FUNCTION prompts.ensure_history_partitions(months_ahead integer DEFAULT 3) RETURNS integer
    LANGUAGE sql AS $$
    SELECT count(*)::integer FROM generate_series(date_trunc('month', now()),
                                                  date_trunc('month', now()) + make_interval(months => months_ahead),
                                                  interval '1 month') AS m
    WHERE prompts.create_history_partition(m::date)
$$;
ALTER FUNCTION prompts.ensure_history_partitions(integer) OWNER TO bp_owner;

-- every month that has rows, through three months ahead; anything else lands in the default
SELECT prompts.create_history_partition(m::date)
FROM generate_series(date_trunc('month', least(now(), (SELECT min(created_at) FROM prompts.history_unpartitioned))),
                     date_trunc('month', now()) + interval '3 months', interval '1 month') AS m;
CREATE TABLE prompts.history_default PARTITION OF prompts.history DEFAULT;
ALTER TABLE prompts.history_default OWNER TO bp_owner;

INSERT INTO prompts.history SELECT * FROM prompts.history_unpartitioned;
DROP TABLE prompts.history_unpartitioned;

ALTER TABLE prompts.history ADD CONSTRAINT history_pkey PRIMARY KEY (id, created_at);
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

CREATE TABLE prompts.history_request_ids (
    request_id text NOT NULL,
    history_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT history_request_id_key PRIMARY KEY (request_id)
);
ALTER TABLE prompts.history_request_ids OWNER TO bp_owner;
INSERT INTO prompts.history_request_ids (request_id, history_id, created_at)
SELECT request_id, id, created_at FROM prompts.history;

-- SECURITY DEFINER: the application role writes history, never the registry itself.
CREATE FUNCTION prompts.history_track_request_id() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO prompts.history_request_ids (request_id, history_id, created_at)
        VALUES (NEW.request_id, NEW.id, NEW.created_at);
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        IF (NEW.request_id, NEW.id, NEW.created_at) IS DISTINCT FROM (OLD.request_id, OLD.id, OLD.created_at) THEN
            UPDATE prompts.history_request_ids
            SET request_id = NEW.request_id, history_id = NEW.id, created_at = NEW.created_at
            WHERE request_id = OLD.request_id;
        END IF;
        RETURN NEW;
    END IF;
    DELETE FROM prompts.history_request_ids WHERE request_id = OLD.request_id;
    RETURN OLD;
END
$$;
ALTER FUNCTION prompts.history_track_request_id() OWNER TO bp_owner;
CREATE TRIGGER history_track_request_id BEFORE INSERT OR UPDATE OR DELETE ON prompts.history
    FOR EACH ROW EXECUTE FUNCTION prompts.history_track_request_id();

ALTER TABLE prompts.saved_prompts ADD COLUMN history_created_at timestamptz;
-- a backfill is not an edit: keep updated_at as it was
ALTER TABLE prompts.saved_prompts DISABLE TRIGGER saved_prompts_set_updated_at;
UPDATE prompts.saved_prompts s SET history_created_at = h.created_at
FROM prompts.history h WHERE h.id = s.history_id;
ALTER TABLE prompts.saved_prompts ENABLE TRIGGER saved_prompts_set_updated_at;
ALTER TABLE prompts.saved_prompts ADD CONSTRAINT saved_prompts_history_link_check
    CHECK ((history_id IS NULL) = (history_created_at IS NULL));
ALTER TABLE prompts.saved_prompts ADD CONSTRAINT saved_prompts_history_fkey
    FOREIGN KEY (history_id, history_created_at) REFERENCES prompts.history (id, created_at) ON DELETE SET NULL;

CREATE FUNCTION prompts.saved_prompts_fill_history_created_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.history_id IS NOT NULL AND NEW.history_created_at IS NULL THEN
        SELECT h.created_at INTO NEW.history_created_at FROM prompts.history h WHERE h.id = NEW.history_id;
    ELSIF NEW.history_id IS NULL THEN
        NEW.history_created_at := NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER saved_prompts_fill_history_created_at BEFORE INSERT OR UPDATE OF history_id
    ON prompts.saved_prompts FOR EACH ROW EXECUTE FUNCTION prompts.saved_prompts_fill_history_created_at();

ALTER TABLE prompts.history OWNER TO bp_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON prompts.history TO bp_app;
GRANT SELECT ON prompts.history TO bp_readonly;
ALTER TABLE prompts.history ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_owner ON prompts.history TO bp_app
    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());
CREATE POLICY history_readonly ON prompts.history FOR SELECT TO bp_readonly USING (true);
