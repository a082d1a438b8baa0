"""The shop's schema, seed and Redis config, proven with the harness's fixtures: each test gets
its database or connection from the template (migrations + the "small" seed) the run built once."""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis

from harness.pytest_plugin import Database


async def test_a_committed_order_is_seen_by_another_connection(fresh_database: Database) -> None:
    """fresh_database: a clone of the template of the test's own, so it may commit."""
    writer = await asyncpg.connect(fresh_database.dsn)
    reader = await asyncpg.connect(fresh_database.dsn)
    try:
        assert await reader.fetchval("SELECT count(*) FROM shop.customers") == 3  # the seed
        ada = await writer.fetchval("SELECT id FROM shop.customers WHERE email = 'ada@example.com'")
        await writer.execute("INSERT INTO shop.orders (customer_id, total_cents) VALUES ($1, 700)", ada)
        totals = await reader.fetch("SELECT total_cents FROM shop.orders WHERE customer_id = $1 ORDER BY 1", ada)
        assert [row["total_cents"] for row in totals] == [700, 1250, 4999]
    finally:
        await writer.close()
        await reader.close()


async def test_an_order_needs_a_customer_and_a_total_of_zero_or_more(pg_conn: asyncpg.Connection) -> None:
    """pg_conn: a connection in a transaction that is rolled back after the test."""
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with pg_conn.transaction():
            await pg_conn.execute("INSERT INTO shop.orders (customer_id, total_cents) VALUES (-1, 100)")
    grace = await pg_conn.fetchval("SELECT id FROM shop.customers WHERE email = 'grace@example.com'")
    with pytest.raises(asyncpg.CheckViolationError):
        await pg_conn.execute("INSERT INTO shop.orders (customer_id, total_cents) VALUES ($1, -1)", grace)


async def test_carts_live_in_redis_under_the_shops_own_config(redis_client: aioredis.Redis) -> None:
    """redis_client: this worker's logical database, flushed before the test."""
    assert (await redis_client.config_get("maxmemory-policy"))["maxmemory-policy"] == "allkeys-lru"
    await redis_client.hset("cart:ada", mapping={"sku-1": 2, "sku-7": 1})
    await redis_client.expire("cart:ada", 3600)
    assert await redis_client.hgetall("cart:ada") == {b"sku-1": b"2", b"sku-7": b"1"}
    assert 0 < await redis_client.ttl("cart:ada") <= 3600
