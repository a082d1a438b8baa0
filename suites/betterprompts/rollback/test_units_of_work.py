"""The Database: units of work and savepoints, the acting user for RLS, pool limits, health."""

from __future__ import annotations

import asyncio

import pytest

from betterprompts_db.data.errors import PoolExhausted, Timeout
from betterprompts_db.data.postgres import DataLayer, PoolSettings, connect
from harness.pytest_plugin import Database
from suites.betterprompts.crud.test_repositories import make_user


class Boom(Exception):
    pass


async def user_with_preferences_then_boom(data: DataLayer) -> None:
    async with data.db.transaction():
        user = await make_user(data)
        await data.repos.user_preferences.create(user_id=user.id)
        raise Boom


async def user_then_boom(data: DataLayer) -> None:
    async with data.db.transaction():
        await make_user(data)
        raise Boom


async def test_a_failing_unit_of_work_leaves_nothing_behind(owner_data: DataLayer) -> None:
    with pytest.raises(Boom):
        await user_with_preferences_then_boom(owner_data)
    assert await owner_data.db.fetchval("count", "SELECT count(*) FROM auth.users") == 0
    assert await owner_data.db.fetchval("count", "SELECT count(*) FROM auth.user_preferences") == 0


async def test_a_nested_transaction_rolls_back_only_its_part(owner_data: DataLayer) -> None:
    async with owner_data.db.transaction():
        kept = await make_user(owner_data)
        with pytest.raises(Boom):
            await user_then_boom(owner_data)  # a savepoint inside the outer transaction
        assert await owner_data.db.fetchval("count", "SELECT count(*) FROM auth.users") == 1
    assert [u.id for u in (await owner_data.repos.users.list()).items] == [kept.id]


async def test_the_acting_user_confines_the_application_role(owner_data: DataLayer, data: DataLayer) -> None:
    alice, bob = await make_user(owner_data), await make_user(owner_data)
    for owner in (alice, bob):
        await owner_data.repos.saved_prompts.create(user_id=owner.id, title="t", prompt_text="p")
    async with data.db.transaction(user_id=alice.id):
        mine = await data.repos.saved_prompts.list()
        assert {p.user_id for p in mine.items} == {alice.id}
        assert await data.repos.users.find(bob.id) is None
    assert (await data.repos.saved_prompts.list()).items == []  # no acting user, no rows


async def test_exhausted_pool_fails_fast_with_pool_exhausted(fresh_database: Database) -> None:
    layer = await connect(fresh_database.dsn, PoolSettings(min_size=1, max_size=2, acquire_timeout=0.3))
    try:
        holders = [layer.db.pool.acquire() for _ in range(2)]
        held = [await h for h in holders]
        started = asyncio.get_running_loop().time()
        with pytest.raises(PoolExhausted, match="all 2 in use"):
            await layer.repos.users.list()
        assert asyncio.get_running_loop().time() - started >= 0.25  # it waited its deadline, then failed
        assert layer.db.stats().in_use == 2
        for conn in held:
            await layer.db.pool.release(conn)
        assert (await layer.repos.users.list()).items == []  # recovered as soon as they came back
    finally:
        await layer.close()


async def test_statement_timeout_is_a_timeout_and_the_connection_is_reused(fresh_database: Database) -> None:
    layer = await connect(fresh_database.dsn, PoolSettings(min_size=1, max_size=1, statement_timeout_ms=200))
    try:
        with pytest.raises(Timeout, match="statement timeout"):
            await layer.db.execute("sleep", "SELECT pg_sleep(2)")
        assert await layer.db.fetchval("ping", "SELECT 1") == 1
    finally:
        await layer.close()


async def test_health_and_pool_statistics(data: DataLayer) -> None:
    health = await data.db.health_check()
    assert health.ok
    assert health.latency_ms > 0
    stats = data.db.stats()
    assert (stats.max_size, stats.in_use) == (5, 0)


async def test_connecting_to_nothing_is_unavailable() -> None:
    from betterprompts_db.data.errors import Unavailable

    with pytest.raises(Unavailable):
        await connect("postgresql://nobody@127.0.0.1:1/none", PoolSettings(min_size=1, max_size=1))


async def test_embedding_dimension_comes_from_the_schema(data: DataLayer) -> None:
    assert data.repos.embeddings.dimension == 768
