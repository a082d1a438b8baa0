"""Fixtures of the BetterPrompts suites (the plugin's fixtures are generic): the data layer on a
fresh clone of the template through the roles' own logins (bp_app, and bp_owner for what only the
owner may do), and the hang guards every client the suites build waits under."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import pytest_asyncio

from betterprompts_db.data.postgres import AuthPolicy, DataLayer, PoolSettings, connect
from betterprompts_db.data.redis import RedisConfig
from harness.pytest_plugin import Database

FAST_AUTH = AuthPolicy(bcrypt_cost=4)  # cost 12 is the default; tests need speed, not strength


@dataclass(frozen=True)
class HangGuards:
    """Client settings whose deadlines only guard against hangs: every one is the run's
    `hang_timeout`, so a saturated machine slows a test down instead of failing it. The data
    layer's own defaults (a 5 s acquire, 1 s Redis replies) are production settings, not the
    suites'. A test of a deadline passes its own short value, which wins."""

    seconds: float

    def pool(self, **fields: Any) -> PoolSettings:
        """PoolSettings with `fields`, every deadline not among them the hang guard."""
        guarded = PoolSettings(
            acquire_timeout=self.seconds,
            statement_timeout_ms=round(self.seconds * 1000),
            command_timeout=self.seconds,
        )
        return replace(guarded, **fields)

    def redis(self, url: str, **fields: Any) -> RedisConfig:
        """RedisConfig for `url` with `fields`, every deadline not among them the hang guard."""
        guarded = RedisConfig(url, socket_timeout=self.seconds, connect_timeout=self.seconds, pool_timeout=self.seconds)
        return replace(guarded, **fields)


@pytest.fixture(scope="session")
def hang_guards(hang_timeout: float) -> HangGuards:
    return HangGuards(hang_timeout)


@pytest_asyncio.fixture
async def data(fresh_database: Database, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """The data layer as the application runs it: logged in as bp_app, under row-level security."""
    layer = await connect(fresh_database.dsn_as("bp_app"), hang_guards.pool(min_size=1, max_size=5), FAST_AUTH)
    yield layer
    await layer.close()


@pytest_asyncio.fixture
async def owner_data(fresh_database: Database, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """The same database logged in as bp_owner: shared reference data, sweeps and roll-ups."""
    layer = await connect(fresh_database.dsn_as("bp_owner"), hang_guards.pool(min_size=1, max_size=5), FAST_AUTH)
    yield layer
    await layer.close()
