-- 0004: analytics: technique effectiveness counters, user activity, daily roll-ups, API metrics.
-- squawk-ignore-file prefer-robust-stmts, require-concurrent-index-creation, prefer-bigint-over-int, prefer-bigint-over-smallint
-- (new, empty tables created in this transaction: nothing to block, nothing to rerun over;
-- integer and smallint hold bounded values -- attempts, limits, sizes, scores -- and say so)

-- fail fast instead of queueing behind (and blocking) live traffic
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';

-- One row per technique x intent x day, upserted atomically by the enhancer.
CREATE TABLE analytics.technique_effectiveness (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    technique              text NOT NULL CHECK (technique = ANY (public.technique_names())),
    intent                 text NOT NULL CHECK (intent = ANY (public.intent_names())),
    day                    date NOT NULL,
    success_count          bigint NOT NULL DEFAULT 0 CHECK (success_count >= 0),
    total_count            bigint NOT NULL DEFAULT 0 CHECK (total_count >= 0),
    avg_feedback_score     numeric(3, 2) CHECK (avg_feedback_score BETWEEN 1 AND 5),
    avg_processing_time_ms real CHECK (avg_processing_time_ms >= 0),
    p95_processing_time_ms real CHECK (p95_processing_time_ms >= 0),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT technique_effectiveness_key UNIQUE (technique, intent, day),
    CONSTRAINT technique_effectiveness_success_within_total CHECK (success_count <= total_count)
);
-- the dashboard: every technique for the last N days
CREATE INDEX technique_effectiveness_day_idx ON analytics.technique_effectiveness (day DESC);
CREATE TRIGGER technique_effectiveness_set_updated_at BEFORE UPDATE ON analytics.technique_effectiveness
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE analytics.user_activity (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    activity_type text NOT NULL CHECK (activity_type IN ('login', 'logout', 'enhance', 'feedback', 'save_prompt',
                                                          'api_call', 'settings_change', 'password_reset')),
    data          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    session_id    uuid REFERENCES auth.sessions (id) ON DELETE SET NULL,
    ip_address    inet,
    user_agent    text CHECK (length(user_agent) <= 1024),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- a user's recent activity; activity of a type over time; the FK's index for SET NULL
CREATE INDEX user_activity_user_created_at_idx ON analytics.user_activity (user_id, created_at DESC);
CREATE INDEX user_activity_type_created_at_idx ON analytics.user_activity (activity_type, created_at DESC);
CREATE INDEX user_activity_session_id_idx ON analytics.user_activity (session_id);
CREATE TRIGGER user_activity_set_updated_at BEFORE UPDATE ON analytics.user_activity
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE analytics.daily_stats (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    day                  date NOT NULL UNIQUE,
    total_requests       bigint NOT NULL DEFAULT 0 CHECK (total_requests >= 0),
    unique_users         integer NOT NULL DEFAULT 0 CHECK (unique_users >= 0),
    new_users            integer NOT NULL DEFAULT 0 CHECK (new_users >= 0),
    total_enhancements   bigint NOT NULL DEFAULT 0 CHECK (total_enhancements >= 0),
    avg_response_time_ms real CHECK (avg_response_time_ms >= 0),
    error_count          bigint NOT NULL DEFAULT 0 CHECK (error_count >= 0),
    technique_breakdown  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(technique_breakdown) = 'object'),
    intent_breakdown     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(intent_breakdown) = 'object'),
    hourly_breakdown     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(hourly_breakdown) = 'object'),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER daily_stats_set_updated_at BEFORE UPDATE ON analytics.daily_stats
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE analytics.api_metrics (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id          uuid REFERENCES auth.api_keys (id) ON DELETE SET NULL,
    endpoint            text NOT NULL CHECK (length(endpoint) BETWEEN 1 AND 500),
    method              text NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS')),
    status_code         smallint NOT NULL CHECK (status_code BETWEEN 100 AND 599),
    response_time_ms    real NOT NULL CHECK (response_time_ms >= 0),
    request_size_bytes  integer CHECK (request_size_bytes >= 0),
    response_size_bytes integer CHECK (response_size_bytes >= 0),
    error_message       text CHECK (length(error_message) <= 10000),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- a key's usage over time; an endpoint's latency over time; errors only
CREATE INDEX api_metrics_api_key_created_at_idx ON analytics.api_metrics (api_key_id, created_at DESC);
CREATE INDEX api_metrics_endpoint_created_at_idx ON analytics.api_metrics (endpoint, created_at DESC);
CREATE INDEX api_metrics_errors_idx ON analytics.api_metrics (created_at DESC) WHERE status_code >= 500;
CREATE TRIGGER api_metrics_set_updated_at BEFORE UPDATE ON analytics.api_metrics
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
