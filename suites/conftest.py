"""Fixtures of the BetterPrompts suites (the plugin's fixtures are generic): the data layer on a
fresh clone of the template, owner-privileged and as the application role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from harness.data.postgres import AuthPolicy, DataLayer, PoolSettings, connect
from harness.pytest_plugin import Database

FAST_AUTH = AuthPolicy(bcrypt_cost=4)  # cost 12 is the default; tests need speed, not strength


@pytest_asyncio.fixture
async def data(fresh_database: Database) -> AsyncIterator[DataLayer]:
    layer = await connect(fresh_database.dsn, PoolSettings(min_size=1, max_size=5), FAST_AUTH)
    yield layer
    await layer.close()


@pytest_asyncio.fixture
async def app_data(fresh_database: Database) -> AsyncIterator[DataLayer]:
    """The same database through the application role: row-level security applies."""
    layer = await connect(fresh_database.dsn, PoolSettings(min_size=1, max_size=5, role="bp_app"), FAST_AUTH)
    yield layer
    await layer.close()
