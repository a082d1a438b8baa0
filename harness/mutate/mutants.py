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
           M + "0006_roles_and_security.up.sql",
           "CREATE POLICY saved_prompts_owner ON prompts.saved_prompts TO bp_app\n"
           "    USING (user_id = auth.current_user_id())",
           "CREATE POLICY saved_prompts_owner ON prompts.saved_prompts TO bp_app\n    USING (true)"),
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
    Mutant("non-atomic-counter", "data-layer", "count technique uses by overwriting instead of incrementing",
           "harness/data/postgres/analytics.py", "total_count = te.total_count + 1,", "total_count = 1,"),
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
    Mutant("acquire-waits-forever", "data-layer", "wait for a pooled connection without a deadline",
           "harness/data/postgres/database.py",
           "return await self.pool.acquire(timeout=self.settings.acquire_timeout)",
           "return await self.pool.acquire(timeout=self.settings.acquire_timeout * 20)"),
    Mutant("password-in-clear", "data-layer", "store the session token itself instead of its hash",
           "harness/data/postgres/auth.py",
           "user_id=user_id, token_hash=token_hash(token),", "user_id=user_id, token_hash=token,"),
]  # fmt: skip
