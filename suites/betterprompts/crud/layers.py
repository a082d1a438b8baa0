"""Data layers the crud suites build beyond the fixtures' own."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from betterprompts_db.data.postgres import DataLayer, connect
from suites.betterprompts.conftest import FAST_AUTH, HangGuards

IMPATIENT_MS = 300


@contextlib.asynccontextmanager
async def impatient_layer(dsn: str, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """The data layer at `dsn` with a 300 ms statement timeout: a statement stuck behind a lock is
    cancelled (and the error names what it was waiting for)."""
    layer = await connect(dsn, hang_guards.pool(statement_timeout_ms=IMPATIENT_MS), FAST_AUTH)
    try:
        yield layer
    finally:
        await layer.close()
