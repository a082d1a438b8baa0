"""The mutants: small, plausible mistakes in the artifacts and the data layer that the suites
must catch. Each is a textual edit of one file; an edit that no longer applies is an error, so
the list stays honest as the code moves."""

from __future__ import annotations

from dataclasses import dataclass

M = "schema/postgres/migrations/"


@dataclass(frozen=True)
class Mutant:
    id: str
    kind: str
    description: str
    path: str
    find: str
    replace: str


MUTANTS = [
    Mutant("drop-unique-email", "constraint", "drop the case-insensitive unique index on users.email",
           M + "0002_auth.up.sql", "CREATE UNIQUE INDEX users_email_lower_key ON auth.users (lower(email));", ""),
    Mutant("weaken-tier-check", "constraint", "admit an unknown tier",
           M + "0002_auth.up.sql", "CHECK (tier IN ('free', 'pro', 'enterprise'))",
           "CHECK (tier IN ('free', 'pro', 'enterprise', 'platinum'))"),
    Mutant("weaken-feedback-check", "constraint", "admit feedback score 0",
           M + "0003_prompts.up.sql", "CHECK (feedback_score BETWEEN 1 AND 5)",
           "CHECK (feedback_score BETWEEN 0 AND 5)"),
    Mutant("weaken-share-check", "constraint", "allow share tokens on private prompts",
           M + "0003_prompts.up.sql", "CHECK (share_token IS NULL OR is_public)", "CHECK (true)"),
    Mutant("history-user-cascade", "on-delete", "delete a user's history with them instead of anonymising it",
           M + "0007_partition_history.up.sql",
           "FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE SET NULL",
           "FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE"),
    Mutant("saved-prompts-no-cascade", "on-delete", "keep saved prompts of a deleted user (NO ACTION)",
           M + "0003_prompts.up.sql",
           "user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,\n    history_id",
           "user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE NO ACTION,\n    history_id"),
    Mutant("drop-updated-at-trigger", "trigger", "stop maintaining users.updated_at",
           M + "0002_auth.up.sql",
           "CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON auth.users\n"
           "    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();", ""),
    Mutant("slug-without-dedup", "trigger", "generate slugs without resolving collisions",
           M + "0003_prompts.up.sql",
           "IF EXISTS (SELECT 1 FROM prompts.templates WHERE slug = NEW.slug AND id <> NEW.id)", "IF false"),
    Mutant("normalise-without-lower", "trigger", "normalise intent patterns without lower-casing",
           M + "0003_prompts.up.sql", "NEW.normalized_pattern := lower(trim(", "NEW.normalized_pattern := (trim("),
    Mutant("drop-hnsw-index", "index", "drop the HNSW index on embeddings",
           M + "0005_vector_search.up.sql",
           "CREATE INDEX embeddings_embedding_hnsw_idx ON prompts.embeddings\n"
           "    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);", ""),
    Mutant("open-saved-prompts-policy", "policy", "let the application role see every user's saved prompts",
           M + "0008_least_privilege.up.sql",
           "CREATE POLICY saved_prompts_select ON prompts.saved_prompts FOR SELECT TO bp_app\n"
           "    USING (user_id = auth.current_user_id());",
           "CREATE POLICY saved_prompts_select ON prompts.saved_prompts FOR SELECT TO bp_app\n    USING (true);"),
    Mutant("history-insert-any-owner", "policy", "an INSERT policy whose WITH CHECK admits any owner",
           M + "0008_least_privilege.up.sql",
           "FOR INSERT TO bp_app WITH CHECK (user_id = auth.current_user_id());\nCREATE POLICY history_update",
           "FOR INSERT TO bp_app WITH CHECK (true);\nCREATE POLICY history_update"),
    Mutant("embeddings-insert-shared", "policy", "let the application role write shared (ownerless) embeddings",
           M + "0008_least_privilege.up.sql",
           "WITH CHECK (user_id = auth.current_user_id() AND source_type IN ('history', 'saved_prompt'));",
           "WITH CHECK (user_id IS NULL OR user_id = auth.current_user_id());"),
    Mutant("embeddings-update-without-check", "policy", "an UPDATE policy on embeddings without WITH CHECK",
           M + "0008_least_privilege.up.sql",
           "CREATE POLICY embeddings_update ON prompts.embeddings FOR UPDATE TO bp_app\n"
           "    USING (user_id = auth.current_user_id()) WITH CHECK (user_id = auth.current_user_id());",
           "CREATE POLICY embeddings_update ON prompts.embeddings FOR UPDATE TO bp_app\n"
           "    USING (user_id IS NULL OR user_id = auth.current_user_id());\n"
           "GRANT UPDATE (user_id) ON prompts.embeddings TO bp_app;"),
    Mutant("app-may-set-its-tier", "grant", "widen the application role's UPDATE on users to role and tier",
           M + "0008_least_privilege.up.sql",
           "verification_token_hash, verification_expires_at, reset_token_hash, reset_expires_at)\n    ON auth.users",
           "verification_token_hash, verification_expires_at, reset_token_hash, reset_expires_at, role, tier)\n"
           "    ON auth.users"),
    Mutant("app-writes-counters", "grant", "give the application role DML on technique effectiveness again",
           M + "0008_least_privilege.up.sql",
           "GRANT SELECT ON analytics.technique_effectiveness, analytics.daily_stats TO bp_app;",
           "GRANT SELECT, INSERT, UPDATE, DELETE ON analytics.technique_effectiveness, analytics.daily_stats"
           " TO bp_app;"),
    Mutant("login-success-for-anyone", "function", "reset any user's lockout, not only the acting user's",
           M + "0008_least_privilege.up.sql",
           "    IF p_user_id IS DISTINCT FROM auth.current_user_id() THEN\n"
           "        RAISE EXCEPTION 'a login is recorded for the acting user only'",
           "    IF false THEN\n        RAISE EXCEPTION 'a login is recorded for the acting user only'"),
    Mutant("history-rls-off", "policy", "leave row-level security off on history after partitioning",
           M + "0007_partition_history.up.sql",
           "ALTER TABLE prompts.history ENABLE ROW LEVEL SECURITY;\nCREATE POLICY history_owner",
           "CREATE POLICY history_owner"),
    Mutant("drop-readonly-grant", "grant", "forget the read-only role's SELECT on prompts and analytics",
           M + "0006_roles_and_security.up.sql",
           "GRANT SELECT ON ALL TABLES IN SCHEMA prompts, analytics TO bp_readonly;", ""),
    Mutant("readonly-reads-password-hash", "grant", "grant the read-only role every column of users",
           M + "0006_roles_and_security.up.sql", "GRANT SELECT (id, email, username,",
           "GRANT SELECT ON auth.users TO bp_readonly;\nGRANT SELECT (id, email, username,"),
    Mutant("migration-table-public", "grant", "let every role read the migration table",
           "harness/migrate/runner.py", "REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC;",
           "GRANT USAGE ON SCHEMA {VERSION_SCHEMA} TO PUBLIC; GRANT SELECT ON {VERSION_TABLE} TO PUBLIC;"),
    Mutant("broken-down", "down", "a down migration that forgets a table",
           M + "0004_analytics.down.sql", "DROP TABLE analytics.api_metrics;\n", ""),
    Mutant("session-ttl-1h", "ttl", "sessions expire after one hour instead of 24",
           "schema/redis/keyspace.toml", "pattern = \"bp:session:{session_id}\"\ntype = \"hash\"\nttl = 86400",
           "pattern = \"bp:session:{session_id}\"\ntype = \"hash\"\nttl = 3600"),
    Mutant("evicting-redis", "config", "let Redis evict keys with a TTL (sessions) when memory fills",
           "schema/redis/redis.conf", "maxmemory-policy noeviction", "maxmemory-policy volatile-lru"),
    Mutant("app-user-may-flush", "acl", "let the application user run dangerous commands",
           "schema/redis/users.acl", "~bp:* &bp:* +@all -@dangerous +info -flushall -flushdb -config -keys -debug",
           "~bp:* &bp:* +@all"),
    Mutant("app-user-may-scan-everything", "acl", "let the application user SCAN and RANDOMKEY past its bp:* keys",
           "schema/redis/users.acl", "-fcall_ro -scan -randomkey", "-fcall_ro"),
    Mutant("app-user-may-flush-scripts", "acl", "let the application user flush scripts and load Redis Functions",
           "schema/redis/users.acl", " -script +script|load -function -fcall -fcall_ro", ""),
    Mutant("readonly-may-scan-everything", "acl", "let the read-only user SCAN and RANDOMKEY past its bp:* keys",
           "schema/redis/users.acl", "+info -scan -randomkey\n", "+info\n"),
    Mutant("non-atomic-counter", "function", "count technique uses by overwriting instead of incrementing",
           M + "0008_least_privilege.up.sql", "total_count = te.total_count + 1,", "total_count = 1,"),
    Mutant("lock-without-for-update", "data-layer", "read-modify-write without a row lock",
           "harness/data/postgres/repository.py",
           'self._lock = f"SELECT * FROM {table} WHERE id = $1 FOR UPDATE"',
           'self._lock = f"SELECT * FROM {table} WHERE id = $1"'),
    Mutant("leak-connection-on-error", "data-layer", "keep a connection out of the pool when a statement fails",
           "harness/data/postgres/database.py",
           "        except Exception as exc:\n            mapped = translate(exc, what)",
           "        except Exception as exc:\n            uow = uow or UnitOfWork(conn, None)  # skips the checkin\n"
           "            mapped = translate(exc, what)"),
    Mutant("no-retry", "data-layer", "give up on the first serialization failure or deadlock",
           "harness/data/postgres/database.py", "attempts: int = 5,", "attempts: int = 1,"),
    Mutant("isolation-pasted", "data-layer", "paste the caller's isolation string into BEGIN again",
           "harness/data/postgres/database.py",
           '    sql = BEGIN[checked_choice("isolation", isolation, LEVELS)]\n',
           '    sql = f"BEGIN ISOLATION LEVEL {isolation.replace(\'_\', \' \').upper()}"\n'),
    Mutant("acquire-waits-forever", "data-layer", "wait for a pooled connection without a deadline",
           "harness/data/postgres/database.py",
           "return await self.pool.acquire(timeout=self.settings.acquire_timeout)",
           "return await self.pool.acquire(timeout=self.settings.acquire_timeout * 20)"),
    Mutant("password-in-clear", "data-layer", "store the session token itself instead of its hash",
           "harness/data/postgres/auth.py",
           "user_id=user_id, token_hash=token_hash(token),", "user_id=user_id, token_hash=token,"),
]  # fmt: skip
