"""The Redis services on this worker's logical database, connected as the application user
`bp_app`, so every test also proves the ACL lets the application do it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from betterprompts_db.data.redis import RedisLayer, open_redis
from betterprompts_db.keyspace import Keyspace, load_keyspace
from harness.config import Settings
from harness.provision import Endpoints
from harness.provision.endpoints import with_credentials
from suites.betterprompts.conftest import HangGuards


@pytest.fixture(scope="session")
def keyspace(harness_settings: Settings) -> Keyspace:
    return load_keyspace(harness_settings.redis_keyspace)


def as_app_user(url: str, keyspace: Keyspace) -> str:
    return with_credentials(url, "bp_app", keyspace.users["bp_app"].dev_password)


@pytest.fixture
def app_url(endpoints: Endpoints, redis_client: aioredis.Redis, keyspace: Keyspace) -> str:
    """bp_app on the logical database `redis_client` flushed for this test."""
    db = int(redis_client.connection_pool.connection_kwargs["db"])
    return as_app_user(endpoints.redis_url(db), keyspace)


@pytest_asyncio.fixture
async def services(app_url: str, keyspace: Keyspace, hang_guards: HangGuards) -> AsyncIterator[RedisLayer]:
    layer = open_redis(hang_guards.redis(app_url), keyspace)
    yield layer
    await layer.close()
