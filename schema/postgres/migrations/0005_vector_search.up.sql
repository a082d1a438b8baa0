-- 0005: embeddings for semantic search. The dimension (768) is set here and nowhere else in SQL;
-- the data layer reads it back from the catalog.
-- squawk-ignore-file prefer-robust-stmts, require-concurrent-index-creation
-- (a new, empty table created in this transaction: nothing to block, nothing to rerun over)

-- fail fast instead of queueing behind (and blocking) live traffic
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';

CREATE TABLE prompts.embeddings (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source_type   text NOT NULL CHECK (source_type IN ('history', 'template', 'intent_pattern', 'saved_prompt')),
    source_id     uuid NOT NULL,
    -- denormalised from the source so similarity search can filter without a join
    user_id       uuid REFERENCES auth.users (id) ON DELETE CASCADE,
    intent        text CHECK (intent = ANY (public.intent_names())),
    embedding     vector(768) NOT NULL,
    model_version text NOT NULL CHECK (length(model_version) BETWEEN 1 AND 100),
    metadata      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT embeddings_source_key UNIQUE (source_type, source_id)
);
-- top-k by cosine distance. HNSW: better recall/latency than IVFFlat (lists = 100, the summary's
-- choice), which the benchmarks build beside it for comparison.
CREATE INDEX embeddings_embedding_hnsw_idx ON prompts.embeddings
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
-- filtered search: a user's own embeddings, or one intent's
CREATE INDEX embeddings_user_id_idx ON prompts.embeddings (user_id);
CREATE INDEX embeddings_intent_idx ON prompts.embeddings (intent);
CREATE TRIGGER embeddings_set_updated_at BEFORE UPDATE ON prompts.embeddings
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
