"""The data the users need: seeded once by the master when the database has no users, then sampled
by every process (user ids to act as, stored embeddings to search with)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

from harness.errors import HarnessError
from loadtests._target import ROOT

SAMPLE_USERS, SAMPLE_VECTORS = 1000, 100

WORLD = f"""
SELECT array(SELECT id::text FROM auth.users WHERE is_active ORDER BY id LIMIT {SAMPLE_USERS}),
       array(SELECT embedding::text FROM prompts.embeddings ORDER BY id LIMIT {SAMPLE_VECTORS}),
       public.technique_names(), public.intent_names()
"""


class DatasetError(HarnessError):
    """The database could not be seeded, or holds nothing to act on."""


@dataclass(frozen=True)
class World:
    """What users pick from: existing users, stored embeddings (pgvector text) and the schema's
    technique and intent names."""

    user_ids: tuple[str, ...]
    vectors: tuple[str, ...]
    techniques: tuple[str, ...]
    intents: tuple[str, ...]


def ensure_dataset(dsn: str, profile: str, scale: float) -> str:
    """Seed the database with betterprompts_db.seed when auth.users is empty. Returns what was done."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM auth.users LIMIT 1").fetchone() is not None:
            return "auth.users has rows: using the data as it is"
    # betterprompts_db.seed is asyncio (asyncpg): it runs in a process of its own, outside gevent's loop
    env = {**os.environ, "HARNESS_DATABASE_URL": dsn}
    env.setdefault("HARNESS_BCRYPT_COST", "4")  # the mix never logs in: hash passwords cheaply
    command = [sys.executable, "-m", "loadtests._seeding", profile, str(scale)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DatasetError(f"seeding profile {profile} x{scale:g} failed:\n{done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


def load_world(conn: psycopg.Connection[TupleRow]) -> World:
    row = conn.execute(WORLD).fetchone()
    assert row is not None  # a SELECT without FROM returns one row
    users, vectors, techniques, intents = row
    if not users or not vectors:
        raise DatasetError(
            f"the database has {len(users)} active users and {len(vectors)} embeddings: nothing to act on "
            "(the master seeds only a database without users; see its log)"
        )
    return World(tuple(users), tuple(vectors), tuple(techniques), tuple(intents))
