"""Insight: what the database and the cache did during a run (statement statistics, slow plans,
scans per table, unused indexes, lock waits, Redis command times), zeroed at the run's start and
captured at its end into `insight.json`, which `harness report` reads.

Its names load on first use: the pytest plugin imports `harness.insight.pytest_hooks` in every run,
and a run that captures nothing never loads the capture (nor redis-py with it): start-up."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.insight.capture import INSIGHT_FILE, InsightStart, capture_insight, start_insight, write_insight
    from harness.insight.postgres import normalise

__all__ = ["INSIGHT_FILE", "InsightStart", "capture_insight", "normalise", "start_insight", "write_insight"]
_HOMES = {"normalise": "harness.insight.postgres"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES.get(name, "harness.insight.capture")), name)
