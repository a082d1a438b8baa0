"""The plugin's fixtures give each test the isolation it asks for."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis

from harness.pytest_plugin import Database


async def test_rolled_back_transaction_leaves_nothing_for_the_next_test(pg_conn: asyncpg.Connection) -> None:
    await pg_conn.execute("CREATE TABLE scratch_rollback (id int)")
    assert await pg_conn.fetchval("SELECT count(*) FROM pg_class WHERE relname = 'scratch_rollback'") == 1


async def test_rolled_back_table_is_gone(pg_conn: asyncpg.Connection) -> None:
    assert await pg_conn.fetchval("SELECT count(*) FROM pg_class WHERE relname = 'scratch_rollback'") == 0


async def test_fresh_database_commits_are_visible_across_connections(fresh_database: Database) -> None:
    writer = await asyncpg.connect(fresh_database.dsn)
    reader = await asyncpg.connect(fresh_database.dsn)
    try:
        await writer.execute("CREATE TABLE committed (id int); INSERT INTO committed VALUES (1)")
        assert await reader.fetchval("SELECT count(*) FROM committed") == 1
    finally:
        await writer.close()
        await reader.close()


async def test_each_fresh_database_is_a_new_clone(fresh_database: Database) -> None:
    conn = await asyncpg.connect(fresh_database.dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('committed')") is None
    finally:
        await conn.close()


async def test_redis_client_starts_on_an_empty_worker_database(redis_client: aioredis.Redis) -> None:
    assert await redis_client.dbsize() == 0
    await redis_client.set("bp:temp:left-behind", "1")


async def test_redis_is_flushed_between_tests(redis_client: aioredis.Redis) -> None:
    assert await redis_client.get("bp:temp:left-behind") is None
