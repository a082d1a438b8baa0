"""The data layer on a primary and its streaming replica, reads routed to the replica."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest_asyncio

from betterprompts_db.data.postgres import AuthPolicy, DataLayer, connect
from harness.config import Settings
from harness.isolation.run import prepare_template
from harness.provision.databases import create_database, drop_database
from harness.provision.replica import time_to_visible
from harness.pytest_plugin import Database, ReplicatedEnvironment
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


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_replicated(
    pg_replica: ReplicatedEnvironment, harness_settings: Settings, hang_timeout: float
) -> AsyncIterator[ReplicatedEnvironment]:
    """The session's shared pair with a database of the test's own: a clone of the template made on
    the primary and replayed on the replica before the test starts (a pair of its own costs a
    primary, a redis and a replica started; a clone, milliseconds), dropped afterwards."""
    settings = harness_settings.model_copy(update={"reuse": False, "keep": False, "durable_commits": True})
    template, _ = await prepare_template(settings, pg_replica.endpoints)  # the pair's: made already
    name = f"{template}_{uuid4().hex[:8]}"
    primary = await asyncpg.connect(pg_replica.endpoints.postgres)
    replica = await asyncpg.connect(pg_replica.replica.dsn)
    try:
        await create_database(primary, name, template)
        await time_to_visible(primary, replica, hang_timeout)
        logins = pg_replica.database.logins
        yield dataclasses.replace(
            pg_replica, database=Database(name, pg_replica.endpoints.postgres_dsn(name), logins),
            replica_database=Database(name, pg_replica.replica.postgres_dsn(name), logins),
        )  # fmt: skip
        await drop_database(primary, name)
    finally:
        await primary.close()
        await replica.close()
