"""Benchmark fixtures: one long-lived event loop per benchmark (never asyncio.run per call), the
quick mode CI uses, and the environment written into the saved JSON for `harness report`."""

from __future__ import annotations

import asyncio
import os
import platform
from collections.abc import Iterator
from typing import Any

import asyncpg
import psutil
import pytest
import redis
import redis.asyncio as aioredis

from betterprompts_db.data.redis import RedisLayer, open_redis
from betterprompts_db.keyspace import load_keyspace
from harness.config import Settings
from harness.isolation import ClonePool, RunState
from harness.provision import Endpoints
from harness.provision.endpoints import with_credentials
from harness.pytest_plugin import Database
from suites.betterprompts.benchmarks._support import QUICK
from suites.betterprompts.conftest import HangGuards

ENVIRONMENT = pytest.StashKey[dict[str, Any]]()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def worker_db(redis_client: aioredis.Redis) -> int:
    """The logical database `redis_client` flushed for this test (this worker's own)."""
    return int(redis_client.connection_pool.connection_kwargs["db"])


@pytest.fixture
def services(
    endpoints: Endpoints,
    redis_client: aioredis.Redis,
    harness_settings: Settings,
    hang_guards: HangGuards,
    loop: asyncio.AbstractEventLoop,
) -> Iterator[RedisLayer]:
    """The Redis services as bp_app on this worker's logical database, opened and closed on `loop`;
    their deadlines only guard against hangs (a cache timing out on a busy machine would read as a miss)."""
    keyspace = load_keyspace(harness_settings.redis_keyspace)
    url = with_credentials(
        endpoints.redis_url(worker_db(redis_client)), "bp_app", keyspace.users["bp_app"].dev_password
    )

    async def build() -> RedisLayer:
        return open_redis(hang_guards.redis(url), keyspace)

    layer = loop.run_until_complete(build())
    try:
        yield layer
    finally:
        loop.run_until_complete(layer.close())


@pytest.fixture
def settled_database(fresh_database: Database, clone_pool: ClonePool, hang_timeout: float) -> Database:
    """`fresh_database`, once the clone pool has replaced it and dropped what earlier tests used:
    its CREATE DATABASE checkpoints and drops would otherwise land inside the measurement."""
    clone_pool.wait_until_idle(hang_timeout)
    return fresh_database


@pytest.fixture(scope="session", autouse=True)
def _environment(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> None:
    """Backend and server versions, for the report's environment table; nothing on an xdist
    worker, where pytest-benchmark neither times nor saves."""
    if hasattr(pytestconfig, "workerinput"):
        return
    harness_run: RunState = request.getfixturevalue("harness_run")

    async def postgres() -> tuple[str, str]:
        conn = await asyncpg.connect(harness_run.endpoints.postgres)  # templates refuse connections
        try:
            row = await conn.fetchrow(
                "SELECT current_setting('server_version') AS v,"
                " (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS vector"
            )
            return str(row["v"]), str(row["vector"])
        finally:
            await conn.close()

    server, vector = asyncio.run(postgres())
    with redis.Redis.from_url(harness_run.endpoints.redis) as client:
        redis_version = client.info("server")["redis_version"]
    pytestconfig.stash[ENVIRONMENT] = {
        "backend": harness_run.endpoints.backend,
        "postgresql": server,
        "pgvector": vector,
        "redis": redis_version,
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "quick mode": QUICK,
    }


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: dict[str, Any]) -> None:
    output_json["harness"] = config.stash.get(ENVIRONMENT, {})
