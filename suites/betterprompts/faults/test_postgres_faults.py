"""The data layer under Postgres faults, on servers of the test's own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import pytest_asyncio

from betterprompts_db.data.errors import DataError, Timeout, Unavailable
from betterprompts_db.data.postgres import AuthPolicy, DataLayer, connect
from harness.pytest_plugin import PrivateEnvironment
from suites.betterprompts.conftest import HangGuards

pytestmark = pytest.mark.faults
T = TypeVar("T")
# The paused-server test's own deadlines; only a paused server ever meets them.
IMPATIENT = {"acquire_timeout": 2.0, "command_timeout": 1.0}


@pytest_asyncio.fixture
async def layer(private_environment: PrivateEnvironment, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    settings = hang_guards.pool(min_size=2, max_size=5)
    data = await connect(private_environment.database.dsn, settings, AuthPolicy(bcrypt_cost=4))
    yield data
    await data.close()


async def eventually(call: Callable[[], Awaitable[T]], deadline: float) -> T:
    """The first success of `call`, retried on Unavailable/Timeout until `deadline` seconds pass."""
    end = time.monotonic() + deadline
    while True:
        try:
            return await call()
        except (Unavailable, Timeout):
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.05)


async def count_users(data: DataLayer) -> Any:
    return await data.db.fetchval("auth.users", "SELECT count(*) FROM auth.users")


@pytest.mark.parametrize("immediate", [False, True], ids=["fast", "crash"])
async def test_after_a_restart_the_pool_recovers_with_every_committed_row_and_no_uncommitted_one(
    layer: DataLayer, private_environment: PrivateEnvironment, immediate: bool, hang_guards: HangGuards
) -> None:
    committed = [await layer.auth.register(email=f"c{i}@example.com", username=f"commit{i}", password="pw")
                 for i in range(5)]  # fmt: skip
    written, release = asyncio.Event(), asyncio.Event()

    async def uncommitted() -> None:
        async with layer.db.transaction():
            await layer.repos.users.create(
                email="u@example.com", username="uncommitted", password_hash="$2b$04$" + "a" * 53
            )
            written.set()
            await release.wait()

    pending = asyncio.create_task(uncommitted())
    async with asyncio.timeout(hang_guards.seconds):
        await written.wait()  # the row is written, and not committed, when the server goes
    await private_environment.faults.postgres.restart(immediate=immediate)
    release.set()
    with pytest.raises(DataError):
        await pending  # its connection died with the server: the transaction never committed
    assert await eventually(lambda: count_users(layer), hang_guards.seconds) == len(committed)
    assert {u.username for u in (await layer.repos.users.list()).items} == {u.username for u in committed}
    assert (await layer.db.health_check()).ok


async def test_a_paused_server_gives_timeouts_not_a_hang_and_calls_resume_after(
    private_environment: PrivateEnvironment, hang_guards: HangGuards
) -> None:
    settings = hang_guards.pool(min_size=2, max_size=5, **IMPATIENT)
    impatient = await connect(private_environment.database.dsn, settings, AuthPolicy(bcrypt_cost=4))
    try:
        async with private_environment.faults.postgres.paused():
            async with asyncio.timeout(hang_guards.seconds):  # a wait without a deadline fails here, by name
                with pytest.raises((Timeout, Unavailable)):
                    await count_users(impatient)
                assert not (await impatient.db.health_check(deadline=0.3)).ok
        assert await eventually(lambda: count_users(impatient), hang_guards.seconds) == 0
    finally:
        await impatient.close()


async def test_terminated_connections_are_replaced_and_the_next_calls_succeed(
    layer: DataLayer, private_environment: PrivateEnvironment, hang_guards: HangGuards
) -> None:
    await asyncio.gather(*(count_users(layer) for _ in range(5)))  # every pooled connection opened
    assert await private_environment.faults.postgres.terminate_connections() >= 1
    # a call may still meet a dead connection (writes are never retried behind the caller's back);
    # the pool then replaces every connection the server cut, so the calls after it succeed
    assert await eventually(lambda: count_users(layer), hang_guards.seconds) == 0
    assert [await count_users(layer) for _ in range(10)] == [0] * 10
