"""The retry policy counts exactly: `retrying(attempts=N)` survives N-1 conflicts in a row and
gives up on the Nth, each conflict a real serialization failure (SQLSTATE 40001) raised by the
server in the attempt's own transaction. A test that never fails twice cannot see one attempt
too few; these fail every attempt but the last."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from betterprompts_db.data.errors import TransactionConflict
from betterprompts_db.data.postgres import DataLayer

CONFLICT = "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure'; END $$"


def losing(data: DataLayer, conflicts: int) -> tuple[list[int], Callable[[], Awaitable[int]]]:
    """A unit of work that loses its first `conflicts` attempts, then commits a row; the list
    records every attempt, and each attempt's transaction id."""
    seen: list[int] = []

    async def work() -> int:
        seen.append(await data.db.fetchval("txid", "SELECT txid_current()"))
        if len(seen) <= conflicts:
            await data.db.execute("conflict", CONFLICT)
        return len(seen)

    return seen, work


@pytest.mark.parametrize("attempts", [1, 2, 5])
async def test_n_attempts_survive_n_minus_one_conflicts_each_in_a_fresh_transaction(
    owner_data: DataLayer, attempts: int
) -> None:
    seen, work = losing(owner_data, attempts - 1)
    assert await owner_data.db.retrying(work, attempts=attempts) == attempts
    assert len(set(seen)) == attempts  # every attempt began a transaction of its own


@pytest.mark.parametrize("attempts", [1, 2, 5])
async def test_n_conflicts_in_a_row_exhaust_n_attempts_and_raise_the_last(owner_data: DataLayer, attempts: int) -> None:
    seen, work = losing(owner_data, attempts)
    with pytest.raises(TransactionConflict, match="could not serialize"):
        await owner_data.db.retrying(work, attempts=attempts)
    assert len(seen) == attempts


async def test_the_default_is_five_attempts(owner_data: DataLayer) -> None:
    seen, work = losing(owner_data, 4)
    assert await owner_data.db.retrying(work) == 5
    seen, work = losing(owner_data, 5)
    with pytest.raises(TransactionConflict):
        await owner_data.db.retrying(work)
    assert len(seen) == 5
