"""Insight: what the database and the cache did during a run (statement statistics, slow plans,
scans per table, unused indexes, lock waits, Redis command times), zeroed at the run's start and
captured at its end into `insight.json`, which `harness report` reads."""

from harness.insight.capture import INSIGHT_FILE, InsightStart, capture_insight, start_insight, write_insight
from harness.insight.postgres import normalise

__all__ = ["INSIGHT_FILE", "InsightStart", "capture_insight", "normalise", "start_insight", "write_insight"]
