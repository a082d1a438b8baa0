"""The clone pool stays bounded however fast tests consume it: a long suite's clones do not pile
up on tmpfs until the server runs out of room."""

from __future__ import annotations

import secrets

import asyncpg

from harness.config import Settings
from harness.isolation import ClonePool, RunState
from harness.isolation.clones import USED_BACKLOG

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
