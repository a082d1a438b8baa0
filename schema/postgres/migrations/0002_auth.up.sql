-- 0002: authentication: users, sessions, API keys, preferences.
-- Secrets are stored only as hashes: bcrypt for passwords, sha256 for tokens and keys.
-- squawk-ignore-file prefer-robust-stmts, require-concurrent-index-creation, prefer-bigint-over-int, prefer-bigint-over-smallint
-- (new, empty tables created in this transaction: nothing to block, nothing to rerun over;
-- integer and smallint hold bounded values -- attempts, limits, sizes, scores -- and say so)

-- fail fast instead of queueing behind (and blocking) live traffic
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';

CREATE TABLE auth.users (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email                   text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' AND length(email) <= 320),
    username                text NOT NULL CHECK (username ~ '^[A-Za-z0-9_.-]{3,50}$'),
    password_hash           text NOT NULL CHECK (password_hash ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'),
    first_name              text CHECK (length(first_name) <= 100),
    last_name               text CHECK (length(last_name) <= 100),
    avatar_url              text CHECK (length(avatar_url) <= 2048),
    is_active               boolean NOT NULL DEFAULT true,
    is_verified             boolean NOT NULL DEFAULT false,
    verification_token_hash text UNIQUE,
    verification_expires_at timestamptz,
    reset_token_hash        text UNIQUE,
    reset_expires_at        timestamptz,
    role                    text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'developer', 'support', 'admin')),
    tier                    text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro', 'enterprise')),
    preferences             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(preferences) = 'object'),
    metadata                jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    last_login_at           timestamptz,
    failed_login_attempts   integer NOT NULL DEFAULT 0 CHECK (failed_login_attempts >= 0),
    locked_until            timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_verification_token_has_expiry
        CHECK ((verification_token_hash IS NULL) = (verification_expires_at IS NULL)),
    CONSTRAINT users_reset_token_has_expiry CHECK ((reset_token_hash IS NULL) = (reset_expires_at IS NULL))
);
-- login and registration look users up case-insensitively, and must not admit a second spelling
CREATE UNIQUE INDEX users_email_lower_key ON auth.users (lower(email));
CREATE UNIQUE INDEX users_username_lower_key ON auth.users (lower(username));
-- admin listing: newest users first, by tier
CREATE INDEX users_tier_created_at_idx ON auth.users (tier, created_at DESC);
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON auth.users
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE auth.sessions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    token_hash         text NOT NULL UNIQUE,
    refresh_token_hash text UNIQUE,
    user_agent         text CHECK (length(user_agent) <= 1024),
    ip_address         inet,
    expires_at         timestamptz NOT NULL,
    last_activity_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sessions_expire_after_creation CHECK (expires_at > created_at)
);
-- a user's active sessions (list, revoke all); the FK's index for the cascade
CREATE INDEX sessions_user_active_idx ON auth.sessions (user_id, expires_at DESC) WHERE revoked_at IS NULL;
CREATE INDEX sessions_user_id_idx ON auth.sessions (user_id);
-- the expiry sweep deletes sessions past expires_at
CREATE INDEX sessions_expires_at_idx ON auth.sessions (expires_at);
CREATE TRIGGER sessions_set_updated_at BEFORE UPDATE ON auth.sessions
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE auth.api_keys (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                   uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    key_prefix                text NOT NULL CHECK (key_prefix ~ '^[A-Za-z0-9_]{4,16}$'),
    key_hash                  text NOT NULL UNIQUE,
    scopes                    text[] NOT NULL DEFAULT '{read}'
                                  CHECK (scopes <@ ARRAY['read', 'write', 'enhance', 'admin']),
    rate_limit                integer NOT NULL DEFAULT 1000 CHECK (rate_limit > 0),
    rate_limit_window_seconds integer NOT NULL DEFAULT 3600 CHECK (rate_limit_window_seconds > 0),
    usage_count               bigint NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
    last_used_at              timestamptz,
    expires_at                timestamptz,
    is_active                 boolean NOT NULL DEFAULT true,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_keys_user_name_key UNIQUE (user_id, name)
);
-- a user's active keys (the settings page); user_id alone is served by api_keys_user_name_key
CREATE INDEX api_keys_user_active_idx ON auth.api_keys (user_id, created_at DESC) WHERE is_active;
CREATE TRIGGER api_keys_set_updated_at BEFORE UPDATE ON auth.api_keys
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE auth.user_preferences (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id               uuid NOT NULL UNIQUE REFERENCES auth.users (id) ON DELETE CASCADE,
    preferred_techniques  text[] NOT NULL DEFAULT '{}' CHECK (preferred_techniques <@ public.technique_names()),
    excluded_techniques   text[] NOT NULL DEFAULT '{}' CHECK (excluded_techniques <@ public.technique_names()),
    complexity_preference text NOT NULL DEFAULT 'auto'
                              CHECK (complexity_preference IN ('auto', 'simple', 'moderate', 'complex')),
    ui_theme              text NOT NULL DEFAULT 'system' CHECK (ui_theme IN ('light', 'dark', 'system')),
    ui_language           text NOT NULL DEFAULT 'en' CHECK (ui_language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    email_notifications   boolean NOT NULL DEFAULT true,
    analytics_opt_in      boolean NOT NULL DEFAULT true,
    custom_settings       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom_settings) = 'object'),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_preferences_techniques_disjoint CHECK (NOT (preferred_techniques && excluded_techniques))
);
CREATE TRIGGER user_preferences_set_updated_at BEFORE UPDATE ON auth.user_preferences
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
