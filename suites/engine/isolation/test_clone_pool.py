"""The clone pool stays bounded however fast tests consume it: a long suite's clones do not pile
up on tmpfs until the server runs out of room."""

from __future__ import annotations

import secrets

import asyncpg

from harness.config import Settings
from harness.isolation import ClonePool, RunState
from harness.isolation.clones import USED_BACKLOG
from harness.provision.databases import drop_database

SIZE = 2
ROUNDS = 60


async def test_tests_that_take_clones_as_fast_as_they_are_made_never_pile_up_used_ones(
    harness_run: RunState, harness_settings: Settings
) -> None:
    tag = f"bound{secrets.token_hex(2)}"
    pool = ClonePool(harness_run.endpoints.postgres, harness_run.template, tag, SIZE, harness_settings.hang_timeout)
    admin = await asyncpg.connect(harness_run.endpoints.postgres)
    count = "SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)"
    peak = 0
    try:
        pool.start()
        try:
            for _ in range(ROUNDS):
                pool.release(pool.take())  # a test that takes its clone and is done at once
                peak = max(peak, await admin.fetchval(count, pool.prefix))
        finally:
            pool.close()
        # the ready ones, the backlog, one being cloned and one being dropped
        assert peak <= SIZE + USED_BACKLOG + 2, f"{peak} clones existed at once"
        assert await admin.fetchval(count, pool.prefix) == 0
    finally:
        await admin.close()


async def test_a_pool_closed_without_drops_leaves_its_clones_and_one_closed_with_drops_leaves_none(
    harness_run: RunState, harness_settings: Settings
) -> None:
    """`close(drop=False)` is for a server deleted with its data right after (the run's own)."""
    admin = await asyncpg.connect(harness_run.endpoints.postgres)
    count = "SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)"
    try:
        pool = ClonePool(harness_run.endpoints.postgres, harness_run.template, f"keep{secrets.token_hex(2)}", SIZE)
        pool.start()
        pool.release(pool.take())
        pool.wait_until_idle()
        pool.close(drop=False)
        assert await admin.fetchval(count, pool.prefix) == SIZE
        for row in await admin.fetch("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", pool.prefix):
            await drop_database(admin, row["datname"])
    finally:
        await admin.close()


def test_a_run_of_its_own_embedded_servers_is_disposable(harness_run: RunState, harness_settings: Settings) -> None:
    own = harness_run.endpoints.backend == "embedded" and not (harness_settings.reuse or harness_settings.keep)
    assert harness_run.disposable == own
