-- 0001 down: everything 0001 created, in reverse.
-- squawk-ignore-file prefer-robust-stmts
DROP FUNCTION public.intent_names();
DROP FUNCTION public.technique_names();
DROP FUNCTION public.set_updated_at();
DROP SCHEMA analytics;
DROP SCHEMA prompts;
DROP SCHEMA auth;
DROP EXTENSION pg_stat_statements;
DROP EXTENSION vector;
