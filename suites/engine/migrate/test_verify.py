"""`verify` catches every down that does not exactly reverse its up."""

from __future__ import annotations

import secrets

import asyncpg
import pytest

from harness import migrate
from harness.errors import VerificationFailed
from harness.provision import Endpoints
from suites.engine.migrate.histories import HISTORY, POSTS_DOWN, USERS_DOWN, USERS_UP, WriteMigrations


async def test_a_history_whose_downs_reverse_their_ups_verifies(
    endpoints: Endpoints, write_migrations: WriteMigrations
) -> None:
    report = await migrate.verify_migrations(endpoints.postgres, migrate.load_migrations(write_migrations(HISTORY)))
    assert report[-1] == "full down: no object left behind"
    assert len(report) == len(HISTORY) + 1


@pytest.mark.parametrize(
    ("label", "up", "down", "expected"),
    [
        ("0002_posts", HISTORY["0002_posts"][0] + "CREATE INDEX users_lower_email_idx ON app.users (lower(email));\n",
         POSTS_DOWN, r"0002_posts\.down\.sql does not exactly reverse(.|\n)*users_lower_email_idx"),
        ("0002_posts", HISTORY["0002_posts"][0] + "ALTER TABLE app.users ADD COLUMN name text DEFAULT 'x';\n",
         POSTS_DOWN + "ALTER TABLE app.users ALTER COLUMN name DROP DEFAULT;\n", r"\+ app\.users\.name"),
        ("0002_posts", HISTORY["0002_posts"][0] + "GRANT SELECT ON app.users TO PUBLIC;\n",
         POSTS_DOWN, "acl="),
        ("0002_posts", HISTORY["0002_posts"][0] + "ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;\n"
         "CREATE POLICY own ON app.users USING (email = current_user);\n",
         POSTS_DOWN + "DROP POLICY own ON app.users;\n", "rls=true"),
        ("0001_users", USERS_UP + "CREATE EXTENSION IF NOT EXISTS vector;\n", USERS_DOWN, "vector"),
        ("0001_users", USERS_UP + "CREATE TYPE public.tier AS ENUM ('free', 'pro');\n", USERS_DOWN,
         r"public\.tier e free,pro"),
    ],
    ids=["index-left-behind", "column-left-behind", "grant-left-behind", "rls-left-enabled", "extension-left", "type"],
)  # fmt: skip
async def test_a_down_that_does_not_reverse_its_up_fails_verification(
    endpoints: Endpoints, write_migrations: WriteMigrations, label: str, up: str, down: str, expected: str
) -> None:
    directory = write_migrations({**HISTORY, label: (up, down)})
    with pytest.raises(VerificationFailed, match=expected):
        await migrate.verify_migrations(endpoints.postgres, migrate.load_migrations(directory))


async def test_verify_drops_its_scratch_database_even_when_it_fails(
    endpoints: Endpoints, write_migrations: WriteMigrations
) -> None:
    directory = write_migrations({**HISTORY, "0002_posts": (HISTORY["0002_posts"][0], "SELECT 1;\n")})
    scratch = f"hx_verify_{secrets.token_hex(6)}"
    with pytest.raises(VerificationFailed, match=r"0002_posts\.down\.sql"):
        await migrate.verify_migrations(endpoints.postgres, migrate.load_migrations(directory), scratch)
    conn = await asyncpg.connect(endpoints.postgres)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", scratch) == 0
    finally:
        await conn.close()
