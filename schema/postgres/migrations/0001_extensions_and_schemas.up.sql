-- 0001: extensions, the three schemas, and the enumerations every later table checks against.
-- squawk-ignore-file prefer-robust-stmts
-- (a fresh history: IF NOT EXISTS would hide a half-applied earlier attempt instead of failing)

-- fail fast instead of queueing behind (and blocking) live traffic
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';

CREATE EXTENSION vector WITH SCHEMA public;               -- embeddings, similarity search
CREATE EXTENSION pg_stat_statements WITH SCHEMA public;   -- slow-query tracking (health checks)

CREATE SCHEMA auth;        -- users, sessions, API keys, preferences
CREATE SCHEMA prompts;     -- templates, history, the users' libraries, embeddings
CREATE SCHEMA analytics;   -- effectiveness counters, activity, daily roll-ups, API metrics

-- Sets updated_at on every UPDATE; attached to every table.
CREATE FUNCTION public.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- The prompting techniques and intents, in one place: CHECK constraints call these.
CREATE FUNCTION public.technique_names() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['chain_of_thought', 'few_shot', 'tree_of_thoughts', 'self_consistency', 'role_play',
                 'step_by_step', 'structured_output', 'emotional_appeal', 'constraints', 'analogical',
                 'zero_shot', 'meta_prompting']
$$;

CREATE FUNCTION public.intent_names() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['question_answering', 'creative_writing', 'code_generation', 'data_analysis', 'reasoning',
                 'summarization', 'translation', 'conversation', 'task_planning', 'problem_solving']
$$;
