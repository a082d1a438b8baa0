"""The data layer on a primary and its streaming replica, reads routed to the replica."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from betterprompts_db.data.postgres import AuthPolicy, DataLayer, connect
from harness.pytest_plugin import ReplicatedEnvironment
from suites.betterprompts.conftest import HangGuards

HASH = "$2b$04$" + "a" * 53


async def routed_layer(env: ReplicatedEnvironment, hang_guards: HangGuards, max_size: int = 5) -> DataLayer:
    """The data layer as bp_owner (the repositories' writes outside any user's row-level security):
    writes to the primary, reads to the replica."""
    return await connect(
        env.database.dsn_as("bp_owner"), hang_guards.pool(min_size=1, max_size=max_size), AuthPolicy(bcrypt_cost=4),
        replica_dsn=env.replica_database.dsn_as("bp_owner"),
    )  # fmt: skip


@pytest_asyncio.fixture(loop_scope="session")
async def routed(pg_replica: ReplicatedEnvironment, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    layer = await routed_layer(pg_replica, hang_guards)
    yield layer
    await layer.close()
