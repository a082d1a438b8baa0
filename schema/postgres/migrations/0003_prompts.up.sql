-- 0003: prompts: templates, enhancement history, intent patterns, the users' libraries.
-- squawk-ignore-file prefer-robust-stmts, require-concurrent-index-creation, prefer-bigint-over-int, prefer-bigint-over-smallint
-- (new, empty tables created in this transaction: nothing to block, nothing to rerun over;
-- integer and smallint hold bounded values -- attempts, limits, sizes, scores -- and say so)

-- fail fast instead of queueing behind (and blocking) live traffic
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';

-- 'Chain of Thought: Math!' -> 'chain-of-thought-math'
CREATE FUNCTION prompts.slugify(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT trim(BOTH '-' FROM regexp_replace(lower(value), '[^a-z0-9]+', '-', 'g'))
$$;

CREATE TABLE prompts.templates (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug                text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    description         text,
    technique           text NOT NULL CHECK (technique = ANY (public.technique_names())),
    category            text NOT NULL CHECK (category ~ '^[a-z][a-z_]{1,49}$'),
    template_text       text NOT NULL CHECK (length(template_text) > 0),
    variables           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(variables) = 'array'),
    examples            jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(examples) = 'array'),
    effectiveness_score numeric(4, 3) CHECK (effectiveness_score BETWEEN 0 AND 1),
    usage_count         bigint NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
    is_active           boolean NOT NULL DEFAULT true,
    is_public           boolean NOT NULL DEFAULT true,
    created_by          uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    metadata            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- the enhancer picks active templates by technique, best first
CREATE INDEX templates_technique_score_idx ON prompts.templates (technique, effectiveness_score DESC NULLS LAST)
    WHERE is_active;
CREATE INDEX templates_created_by_idx ON prompts.templates (created_by);
CREATE INDEX templates_category_idx ON prompts.templates (category);

-- A template without a slug gets one from its name; a taken slug gets the id's first characters.
CREATE FUNCTION prompts.templates_fill_slug() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.slug IS NULL OR NEW.slug = '' THEN
        NEW.slug := prompts.slugify(NEW.name);
        IF EXISTS (SELECT 1 FROM prompts.templates WHERE slug = NEW.slug AND id <> NEW.id) THEN
            NEW.slug := NEW.slug || '-' || left(replace(NEW.id::text, '-', ''), 8);
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER templates_fill_slug BEFORE INSERT OR UPDATE OF name, slug ON prompts.templates
    FOR EACH ROW EXECUTE FUNCTION prompts.templates_fill_slug();
CREATE TRIGGER templates_set_updated_at BEFORE UPDATE ON prompts.templates
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- The largest table; 0007 partitions it by month. Constraints are named so that migration can
-- rebuild them exactly.
CREATE TABLE prompts.history (
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id            uuid,
    session_id         uuid,
    request_id         text NOT NULL,
    original_input     text NOT NULL,
    enhanced_output    text NOT NULL,
    intent             text,
    intent_confidence  real,
    complexity         text,
    techniques_used    text[] NOT NULL DEFAULT '{}',
    technique_scores   jsonb NOT NULL DEFAULT '{}',
    processing_time_ms integer,
    token_count        integer,
    model_version      text,
    feedback_score     smallint,
    feedback_text      text,
    is_favorite        boolean NOT NULL DEFAULT false,
    metadata           jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT history_pkey PRIMARY KEY (id),
    CONSTRAINT history_request_id_key UNIQUE (request_id),
    CONSTRAINT history_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE SET NULL,
    CONSTRAINT history_session_id_fkey FOREIGN KEY (session_id) REFERENCES auth.sessions (id) ON DELETE SET NULL,
    CONSTRAINT history_request_id_check CHECK (length(request_id) BETWEEN 1 AND 128),
    CONSTRAINT history_original_input_check CHECK (length(original_input) BETWEEN 1 AND 100000),
    CONSTRAINT history_enhanced_output_check CHECK (length(enhanced_output) <= 200000),
    CONSTRAINT history_intent_check CHECK (intent = ANY (public.intent_names())),
    CONSTRAINT history_intent_confidence_check CHECK (intent_confidence BETWEEN 0 AND 1),
    CONSTRAINT history_complexity_check CHECK (complexity IN ('simple', 'moderate', 'complex')),
    CONSTRAINT history_techniques_used_check CHECK (techniques_used <@ public.technique_names()),
    CONSTRAINT history_technique_scores_check CHECK (jsonb_typeof(technique_scores) = 'object'),
    CONSTRAINT history_processing_time_ms_check CHECK (processing_time_ms >= 0),
    CONSTRAINT history_token_count_check CHECK (token_count >= 0),
    CONSTRAINT history_feedback_score_check CHECK (feedback_score BETWEEN 1 AND 5),
    CONSTRAINT history_feedback_text_check CHECK (length(feedback_text) <= 10000),
    CONSTRAINT history_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);
-- a user's history page, newest first (keyset on created_at, id); and their favourites
CREATE INDEX history_user_created_at_idx ON prompts.history (user_id, created_at DESC, id DESC);
CREATE INDEX history_user_favorites_idx ON prompts.history (user_id, created_at DESC) WHERE is_favorite;
-- "which enhancements used technique X", and the analytics by intent over time
CREATE INDEX history_techniques_used_idx ON prompts.history USING gin (techniques_used);
CREATE INDEX history_intent_created_at_idx ON prompts.history (intent, created_at DESC);
CREATE INDEX history_session_id_idx ON prompts.history (session_id);
-- the daily roll-up scans one day at a time
CREATE INDEX history_created_at_brin_idx ON prompts.history USING brin (created_at);
CREATE TRIGGER history_set_updated_at BEFORE UPDATE ON prompts.history
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE prompts.intent_patterns (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pattern            text NOT NULL CHECK (length(pattern) BETWEEN 1 AND 2000),
    normalized_pattern text NOT NULL,
    intent             text NOT NULL CHECK (intent = ANY (public.intent_names())),
    sub_intent         text CHECK (sub_intent ~ '^[a-z][a-z_]{1,49}$'),
    confidence         real NOT NULL DEFAULT 1 CHECK (confidence BETWEEN 0 AND 1),
    is_verified        boolean NOT NULL DEFAULT false,
    verified_by        uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    source             text NOT NULL DEFAULT 'manual' CHECK (source IN ('user_generated', 'ml_predicted', 'manual')),
    metadata           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT intent_patterns_pattern_intent_key UNIQUE (normalized_pattern, intent)
);
-- the classifier's training export: verified patterns per intent
CREATE INDEX intent_patterns_verified_intent_idx ON prompts.intent_patterns (intent) WHERE is_verified;
CREATE INDEX intent_patterns_verified_by_idx ON prompts.intent_patterns (verified_by);

-- '  Explain   QUANTUM computing ' -> 'explain quantum computing'
CREATE FUNCTION prompts.intent_patterns_normalize() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.normalized_pattern := lower(trim(regexp_replace(NEW.pattern, '\s+', ' ', 'g')));
    RETURN NEW;
END
$$;
CREATE TRIGGER intent_patterns_normalize BEFORE INSERT OR UPDATE OF pattern, normalized_pattern
    ON prompts.intent_patterns FOR EACH ROW EXECUTE FUNCTION prompts.intent_patterns_normalize();
CREATE TRIGGER intent_patterns_set_updated_at BEFORE UPDATE ON prompts.intent_patterns
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE prompts.saved_prompts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    history_id  uuid,
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text CHECK (length(description) <= 2000),
    prompt_text text NOT NULL CHECK (length(prompt_text) BETWEEN 1 AND 100000),
    tags        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    is_public   boolean NOT NULL DEFAULT false,
    share_token text UNIQUE CHECK (share_token ~ '^[A-Za-z0-9_-]{16,64}$'),
    view_count  bigint NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    metadata    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT saved_prompts_history_id_fkey FOREIGN KEY (history_id)
        REFERENCES prompts.history (id) ON DELETE SET NULL,
    CONSTRAINT saved_prompts_shared_only_if_public CHECK (share_token IS NULL OR is_public)
);
-- the user's library page, newest first; search by tag; the FK's index for SET NULL
CREATE INDEX saved_prompts_user_created_at_idx ON prompts.saved_prompts (user_id, created_at DESC, id DESC);
CREATE INDEX saved_prompts_tags_idx ON prompts.saved_prompts USING gin (tags);
CREATE INDEX saved_prompts_history_id_idx ON prompts.saved_prompts (history_id);
CREATE TRIGGER saved_prompts_set_updated_at BEFORE UPDATE ON prompts.saved_prompts
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE prompts.collections (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text CHECK (length(description) <= 2000),
    is_public   boolean NOT NULL DEFAULT false,
    metadata    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT collections_user_name_key UNIQUE (user_id, name)
);
CREATE TRIGGER collections_set_updated_at BEFORE UPDATE ON prompts.collections
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE prompts.collection_prompts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    collection_id   uuid NOT NULL REFERENCES prompts.collections (id) ON DELETE CASCADE,
    saved_prompt_id uuid NOT NULL REFERENCES prompts.saved_prompts (id) ON DELETE CASCADE,
    position        integer NOT NULL CHECK (position >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT collection_prompts_once UNIQUE (collection_id, saved_prompt_id),
    -- deferrable, so a reordering transaction may swap positions
    CONSTRAINT collection_prompts_position_key UNIQUE (collection_id, position) DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX collection_prompts_saved_prompt_id_idx ON prompts.collection_prompts (saved_prompt_id);
CREATE TRIGGER collection_prompts_set_updated_at BEFORE UPDATE ON prompts.collection_prompts
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
