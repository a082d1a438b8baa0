"""A small deterministic dataset for databases without betterprompts_db.seed: 20 users with 25 history rows
each, every row with an embedding. Same ids, text and vectors on every load."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

USERS, HISTORY_PER_USER, DIMENSION = 20, 25, 768
NAMESPACE = uuid.UUID("5b0e2a4c-7d1f-4c39-9a6e-0d3f1c2b4a50")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
PASSWORD_HASH = "$2b$04$loadtestsfixturesalt.uj2fmUCiBC3RqrteGx2h0ziHGoYhe.LO"  # bcrypt of "Load-Test-1!"
TIERS = ("free", "pro", "enterprise")


def load_fixture(conn: psycopg.Connection[TupleRow]) -> int:
    """COPY the dataset in one transaction (as the admin: row-level security does not apply);
    returns the number of users."""
    rng = random.Random(20260101)
    names = conn.execute("SELECT public.technique_names(), public.intent_names()").fetchone()
    assert names is not None
    techniques, intents = names
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy("COPY auth.users (id, email, username, password_hash, tier, is_verified) FROM STDIN") as copy:
            for u in range(USERS):
                copy.write_row(
                    (_id("user", u), f"load{u}@example.com", f"load_user_{u}", PASSWORD_HASH, TIERS[u % 3], True)
                )
        history, embeddings = [], []
        for u in range(USERS):
            for h in range(HISTORY_PER_USER):
                history_id, intent = _id("history", u, h), intents[(u + h) % len(intents)]
                used = sorted(rng.sample(techniques, 2))
                created = EPOCH - timedelta(hours=7 * h + u)
                history.append(
                    (
                        history_id,
                        _id("user", u),
                        f"load-fixture-{u}-{h}",
                        f"Explain topic {h} to user {u}",
                        f"Step by step, explain topic {h}.",
                        intent,
                        used,
                        1 + (u + h) % 5,
                        created,
                    )
                )
                embeddings.append((_id("embedding", u, h), history_id, _id("user", u), intent, _vector(rng)))
        with cur.copy(
            "COPY prompts.history (id, user_id, request_id, original_input, enhanced_output, intent,"
            " techniques_used, feedback_score, created_at) FROM STDIN"
        ) as copy:
            for row in history:
                copy.write_row(row)
        with cur.copy(
            "COPY prompts.embeddings (id, source_type, source_id, user_id, intent, embedding, model_version) FROM STDIN"
        ) as copy:
            for embedding_id, source_id, user_id, intent, vector in embeddings:
                copy.write_row((embedding_id, "history", source_id, user_id, intent, vector, "bp-embed-768-v1"))
    return USERS


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(map(str, parts)))


def _vector(rng: random.Random) -> str:
    """A random unit vector in pgvector's text form."""
    values = [rng.gauss(0, 1) for _ in range(DIMENSION)]
    norm = math.sqrt(sum(v * v for v in values))
    return "[" + ",".join(f"{v / norm:.6f}" for v in values) + "]"
