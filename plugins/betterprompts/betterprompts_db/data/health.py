"""What a health check reports, for the Postgres pool and the Redis store alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    """Whether the store answered within the deadline, how fast, and what failed if it did not."""

    ok: bool
    latency_ms: float
    error: str | None = None
