"""The row generator behind `verify --with-data` fills tables from the catalog alone: every type it
knows, CHECK constraints it reads, foreign keys to existing rows, enums through all their labels."""

from __future__ import annotations

import secrets

from harness.migrate.sample_rows import Seeder
from harness.migrate.verify import scratch_database
from harness.provision import Endpoints

SCHEMA = """CREATE EXTENSION vector;
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('low', 'mid', 'high', 'peak');
CREATE DOMAIN app.short AS varchar(6);
CREATE TABLE app.parents (a int, b text, PRIMARY KEY (a, b));
CREATE TABLE app.everything (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    small smallint NOT NULL UNIQUE,
    ratio numeric(4, 3) NOT NULL CHECK (ratio BETWEEN 0 AND 1),
    code varchar(5) NOT NULL,
    nick app.short NOT NULL,
    flag boolean NOT NULL,
    day date NOT NULL,
    at timestamptz NOT NULL,
    token uuid NOT NULL UNIQUE,
    doc jsonb NOT NULL,
    raw bytea NOT NULL,
    tags text[] NOT NULL CHECK (tags <@ ARRAY['red', 'blue']),
    moods app.mood[] NOT NULL,
    mood app.mood NOT NULL,
    embedding vector(3) NOT NULL,
    address inet NOT NULL,
    wait interval NOT NULL,
    email text NOT NULL UNIQUE CHECK (email ~ '^[a-z]+@[a-z]+\\.org$'),
    status int NOT NULL CHECK (status >= 100 AND status < 600),
    method text NOT NULL CHECK (method IN ('GET', 'POST')),
    doubled bigint GENERATED ALWAYS AS (small * 2) STORED,
    parent_a int NOT NULL,
    parent_b text NOT NULL,
    FOREIGN KEY (parent_a, parent_b) REFERENCES app.parents
);
CREATE TABLE app.only_ids (id int GENERATED ALWAYS AS IDENTITY);
CREATE TABLE app.never (n int NOT NULL CHECK (n > 0 AND n < 0));
"""


async def test_every_known_type_check_and_foreign_key_is_filled(endpoints: Endpoints) -> None:
    async with scratch_database(endpoints.postgres, f"hx_rows_{secrets.token_hex(4)}") as conn:
        await conn.execute(SCHEMA)
        seeder = Seeder(conn)
        await seeder.seed(rows=4)
        assert seeder.seeded == {"app.parents", "app.everything", "app.only_ids"}
        assert seeder.refused == {
            "app.never": 'CheckViolationError: new row for relation "never" violates check constraint "never_n_check"'
        }
        assert await conn.fetchval("SELECT count(*) FROM app.everything") == 4
        moods = await conn.fetchval("SELECT array_agg(DISTINCT mood::text ORDER BY mood::text) FROM app.everything")
        assert moods == ["high", "low", "mid", "peak"]  # every label, in four rows
        assert await conn.fetchval(
            "SELECT bool_and(length(code) <= 5 AND length(nick) <= 6 AND vector_dims(embedding) = 3"
            " AND email ~ '^[a-z]+@[a-z]+\\.org$' AND status BETWEEN 100 AND 599 AND tags = '{red}'"
            " AND doubled = small * 2) FROM app.everything"
        )
        orphans = (
            "SELECT count(*) FROM app.everything e LEFT JOIN app.parents p ON (p.a, p.b) = (e.parent_a, e.parent_b)"
        )
        assert await conn.fetchval(orphans + " WHERE p.a IS NULL") == 0
        await seeder.seed(rows=4)  # a second round: unique columns take new values
        assert await conn.fetchval("SELECT count(DISTINCT token) FROM app.everything") == 8
