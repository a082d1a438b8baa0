"""Real concurrent connections on a fresh database: uniqueness, counters, lost updates,
deadlocks and serialization failures resolved by the retry policy."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest
import pytest_asyncio

from betterprompts_db.data.errors import Conflict, TransactionConflict
from betterprompts_db.data.postgres import AuthPolicy, DataLayer, connect
from harness.pytest_plugin import Database
from suites.betterprompts.conftest import HangGuards

WRITERS = 50


@pytest_asyncio.fixture
async def data(fresh_database: Database, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """Every connection opened up front, so concurrent callers start together rather than each as
    its connect finishes (on a busy machine those can finish far apart, and nothing would overlap)."""
    settings = hang_guards.pool(min_size=WRITERS, max_size=WRITERS)
    layer = await connect(fresh_database.dsn, settings, AuthPolicy(bcrypt_cost=4))
    yield layer
    await layer.close()


async def test_concurrent_registrations_with_one_email_admit_exactly_one(data: DataLayer) -> None:
    attempts = [
        data.auth.register(email="same@example.com", username=f"same{i}", password="pw") for i in range(WRITERS)
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert await data.db.fetchval("n", "SELECT count(*) FROM auth.users") == 1


async def test_concurrent_writers_lose_no_increment(data: DataLayer) -> None:
    user = await data.auth.register(email="count@example.com", username="counter", password="pw")
    issued = await data.auth.create_api_key(user.id, "k")
    today = date.today()
    await asyncio.gather(
        *(data.auth.verify_api_key(issued.key) for _ in range(WRITERS)),
        *(data.analytics.count_technique("few_shot", "reasoning", today, succeeded=i % 2 == 0, processing_time_ms=10)
          for i in range(WRITERS)),
    )  # fmt: skip
    assert (await data.repos.api_keys.get(issued.api_key.id)).usage_count == WRITERS
    counter = (await data.repos.technique_effectiveness.list()).items[0]
    assert (counter.total_count, counter.success_count) == (WRITERS, WRITERS // 2)


async def increment_view_count(data: DataLayer, prompt_id: uuid.UUID, locked: bool) -> None:
    async with data.db.transaction():
        current = await (
            data.repos.saved_prompts.lock(prompt_id) if locked else data.repos.saved_prompts.get(prompt_id)
        )
        await asyncio.sleep(0.001)  # a service doing work between its read and its write
        await data.repos.saved_prompts.update(prompt_id, view_count=current.view_count + 1)


@pytest.mark.parametrize(("locked", "loses_updates"), [(False, True), (True, False)], ids=["naive", "row-lock"])
async def test_read_modify_write_loses_updates_unless_the_row_is_locked(
    data: DataLayer, locked: bool, loses_updates: bool
) -> None:
    user = await data.auth.register(email="rmw@example.com", username="rmw_user", password="pw")
    prompt = await data.repos.saved_prompts.create(user_id=user.id, title="t", prompt_text="p")
    await asyncio.gather(*(increment_view_count(data, prompt.id, locked) for _ in range(20)))
    final = (await data.repos.saved_prompts.get(prompt.id)).view_count
    assert (final < 20) == loses_updates, final  # the naive version is the bug this suite must see


async def test_a_provoked_deadlock_is_detected_and_the_retry_policy_completes_both(data: DataLayer) -> None:
    user = await data.auth.register(email="dl@example.com", username="deadlock", password="pw")
    a, b = [await data.repos.saved_prompts.create(user_id=user.id, title=t, prompt_text=t) for t in "ab"]
    both_hold_one = asyncio.Barrier(2)

    async def lock_in_order(first: uuid.UUID, second: uuid.UUID) -> int:
        attempts = 0

        async def work() -> None:
            nonlocal attempts
            attempts += 1
            await data.repos.saved_prompts.lock(first)
            if attempts == 1:
                await both_hold_one.wait()  # first attempt: each holds one row, then wants the other's
            await data.repos.saved_prompts.lock(second)
            await data.repos.saved_prompts.update(second, view_count=1)

        await data.db.retrying(work)
        return attempts

    attempts = await asyncio.gather(lock_in_order(a.id, b.id), lock_in_order(b.id, a.id))
    assert sorted(attempts) == [1, 2]  # the server broke the deadlock; the loser's retry completed
    assert [(await data.repos.saved_prompts.get(p)).view_count for p in (a.id, b.id)] == [1, 1]


async def test_serialization_failures_are_retried_to_success(data: DataLayer) -> None:
    """Write skew: each transaction inserts if it sees fewer than 5 collections. Under SERIALIZABLE
    some must fail; retried, the invariant (at most 5) holds and every caller finishes."""
    user = await data.auth.register(email="ser@example.com", username="serial", password="pw")
    failures = 0

    async def add_if_room(i: int) -> bool:
        nonlocal failures

        async def work() -> bool:
            n = await data.db.fetchval("c", "SELECT count(*) FROM prompts.collections WHERE user_id = $1", user.id)
            if n >= 5:
                return False
            await data.repos.collections.create(user_id=user.id, name=f"c{i}")
            return True

        try:
            return await data.db.retrying(work, isolation="serializable", attempts=30)
        except TransactionConflict:
            failures += 1
            raise

    added = await asyncio.gather(*(add_if_room(i) for i in range(12)))
    assert failures == 0
    assert sum(added) == 5
    assert await data.db.fetchval("c", "SELECT count(*) FROM prompts.collections") == 5
