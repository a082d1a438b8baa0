"""The attacker's corpus: hostile values in every parameter of every repository and service
method are refused with the data layer's own error, naming the field, before they can change
anything; no value a caller passes reaches SQL as text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from harness.data.errors import InvalidInput
from harness.data.postgres import DataLayer
from harness.pytest_plugin import Database

CENSUS_SQL = """
SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('auth', 'prompts', 'analytics') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY 1
"""
DROP = "x'; DROP TABLE auth.users; --"


Census = Callable[[], Awaitable[dict[str, tuple[int, str | None]]]]


@pytest_asyncio.fixture
async def census(fresh_database: Database) -> AsyncIterator[Census]:
    """Every table of the three schemas with its row count and an md5 over its rows, read as the
    database's owner whatever role `data` logs in as."""
    conn = await asyncpg.connect(fresh_database.dsn)

    async def take() -> dict[str, tuple[int, str | None]]:
        result = {}
        for (table,) in await conn.fetch(CENSUS_SQL):
            row = await conn.fetchrow(f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t")
            result[table] = (row[0], row[1])
        return result

    yield take
    await conn.close()


@pytest.mark.parametrize("isolation", ["serializable; DROP TABLE prompts.templates; --", "SERIALIZABLE",
                                       "read committed", "", None, 1, b"serializable"])  # fmt: skip
async def test_an_isolation_level_outside_the_three_is_refused_before_any_sql(
    data: DataLayer, census: Census, isolation: Any
) -> None:
    before = await census()
    with pytest.raises(InvalidInput) as error:
        async with data.db.transaction(isolation=isolation):
            pass
    assert error.value.field == "isolation"
    with pytest.raises(InvalidInput) as error:
        await data.db.retrying(lambda: data.db.fetchval("one", "SELECT 1"), isolation=isolation)
    assert error.value.field == "isolation"
    assert await census() == before  # prompts.templates is still there, and nothing else changed


@pytest.mark.parametrize("readonly", ["true; DROP TABLE prompts.templates; --", 1, None, "false"])
async def test_readonly_must_be_a_bool(data: DataLayer, census: Census, readonly: Any) -> None:
    before = await census()
    with pytest.raises(InvalidInput) as error:
        async with data.db.transaction(readonly=readonly):
            pass
    assert error.value.field == "readonly"
    assert await census() == before
