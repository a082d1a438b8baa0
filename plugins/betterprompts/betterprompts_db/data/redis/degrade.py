"""The caches' contract: Redis being down or stuck makes a cache miss, never an error.

A cache only saves work, so an outage (unreachable, timed out, pool exhausted) costs a
recomputation bounded by the socket or pool timeout; everything else (ACL refusals, bad input)
still raises, because it will not fix itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from betterprompts_db.data.errors import PoolExhausted, Timeout, Unavailable

T = TypeVar("T")

OUTAGES = (Unavailable, Timeout, PoolExhausted)
log = logging.getLogger("betterprompts_db.data.redis")


async def or_miss(operation: Awaitable[T], miss: T, what: str) -> T:
    """`operation`'s result, or `miss` when Redis is out (logged with `what`, a key)."""
    try:
        return await operation
    except OUTAGES as exc:
        note_outage(what, exc)
        return miss


def note_outage(what: str, exc: Exception) -> None:
    log.warning("cache %s treated as a miss: %s", what, exc)
