"""Small migration histories of the tests' own, and how the tests read what the runner recorded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg

WriteMigrations = Callable[[dict[str, tuple[str, str]]], Path]


async def fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


USERS_UP = """CREATE SCHEMA app;
CREATE TABLE app.users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE);
"""
USERS_DOWN = "DROP TABLE app.users;\nDROP SCHEMA app;\n"
POSTS_UP = """CREATE TABLE app.posts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES app.users (id) ON DELETE CASCADE,
    body text NOT NULL CHECK (length(body) > 0)
);
CREATE INDEX posts_user_id_idx ON app.posts (user_id);
"""
POSTS_DOWN = "DROP TABLE app.posts;\n"
TOUCH_UP = """CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.body := trim(NEW.body); -- a semicolon; inside a dollar quote
    RETURN NEW;
END $$;
CREATE TRIGGER posts_touch BEFORE INSERT OR UPDATE ON app.posts FOR EACH ROW EXECUTE FUNCTION app.touch();
"""
TOUCH_DOWN = "DROP TRIGGER posts_touch ON app.posts;\nDROP FUNCTION app.touch();\n"

HISTORY = {
    "0001_users": (USERS_UP, USERS_DOWN),
    "0002_posts": (POSTS_UP, POSTS_DOWN),
    "0003_touch": (TOUCH_UP, TOUCH_DOWN),
}
POSTS_EDITED = "CREATE TABLE app.posts (id int);\n"
