"""Analytics: atomic technique-effectiveness counters and the daily roll-up."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from betterprompts_db.data.postgres.checks import (
    INT4,
    REAL_MAX,
    as_uuid,
    checked_bool,
    checked_date,
    checked_float,
    checked_int,
    checked_text,
)
from betterprompts_db.data.postgres.database import Database
from betterprompts_db.data.postgres.records import DailyStats

# One use of a technique, counted atomically by the function that owns the counters.
COUNT_TECHNIQUE = "SELECT analytics.count_technique($1, $2, $3, $4, $5)"
# One day, from the tables the day's traffic wrote. Run it as the owner or a role that RLS does
# not confine to one user: it aggregates everyone.
ROLL_UP_DAY = """
WITH h AS (
    SELECT * FROM prompts.history WHERE created_at >= $1::date AND created_at < $1::date + 1
), m AS (
    SELECT * FROM analytics.api_metrics WHERE created_at >= $1::date AND created_at < $1::date + 1
)
INSERT INTO analytics.daily_stats AS d
    (day, total_requests, unique_users, new_users, total_enhancements, avg_response_time_ms, error_count,
     technique_breakdown, intent_breakdown, hourly_breakdown)
SELECT $1::date,
       (SELECT count(*) FROM m),
       (SELECT count(DISTINCT user_id) FROM h),
       (SELECT count(*) FROM auth.users WHERE created_at >= $1::date AND created_at < $1::date + 1),
       (SELECT count(*) FROM h),
       (SELECT avg(response_time_ms) FROM m),
       (SELECT count(*) FROM m WHERE status_code >= 500),
       coalesce((SELECT jsonb_object_agg(t, n) FROM (SELECT unnest(techniques_used) AS t, count(*) AS n
                                                     FROM h GROUP BY 1) x), '{}'),
       coalesce((SELECT jsonb_object_agg(i, n) FROM (SELECT intent AS i, count(*) AS n
                                                     FROM h WHERE intent IS NOT NULL GROUP BY 1) x), '{}'),
       coalesce((SELECT jsonb_object_agg(hr, n) FROM (SELECT extract(hour FROM created_at)::int AS hr, count(*) AS n
                                                      FROM h GROUP BY 1) x), '{}')
ON CONFLICT (day) DO UPDATE SET
    total_requests = excluded.total_requests, unique_users = excluded.unique_users,
    new_users = excluded.new_users, total_enhancements = excluded.total_enhancements,
    avg_response_time_ms = excluded.avg_response_time_ms, error_count = excluded.error_count,
    technique_breakdown = excluded.technique_breakdown, intent_breakdown = excluded.intent_breakdown,
    hourly_breakdown = excluded.hourly_breakdown
RETURNING *
"""
# …and the per-technique figures only the whole day's history can give.
ROLL_UP_TECHNIQUES = """
UPDATE analytics.technique_effectiveness te SET
    avg_feedback_score = s.avg_feedback, p95_processing_time_ms = s.p95
FROM (SELECT t.technique, h.intent, avg(h.feedback_score)::numeric(3, 2) AS avg_feedback,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY h.processing_time_ms) AS p95
      FROM prompts.history h CROSS JOIN LATERAL unnest(h.techniques_used) AS t(technique)
      WHERE h.created_at >= $1::date AND h.created_at < $1::date + 1 AND h.intent IS NOT NULL
      GROUP BY 1, 2) s
WHERE te.day = $1::date AND te.technique = s.technique AND te.intent = s.intent
"""


class AnalyticsService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def count_technique(
        self, technique: str, intent: str, day: date, *, succeeded: bool, processing_time_ms: float
    ) -> None:
        """One use of `technique`, atomically (concurrent writers never lose a count)."""
        _check_counter(technique, intent, day)
        checked_bool("succeeded", succeeded)
        processing_time_ms = checked_float("processing_time_ms", processing_time_ms, 0, REAL_MAX)
        await self.db.execute(
            "analytics.count_technique", COUNT_TECHNIQUE, technique, intent, day, succeeded, float(processing_time_ms),
        )  # fmt: skip

    async def count_success(self, technique: str, intent: str, day: date) -> None:
        _check_counter(technique, intent, day)
        await self.db.execute(
            "analytics.count_success", "SELECT analytics.count_success($1, $2, $3)", technique, intent, day
        )

    async def record_api_metric(
        self, *, endpoint: str, method: str, status_code: int, response_time_ms: float, api_key_id: UUID | None = None,
        request_size_bytes: int | None = None, response_size_bytes: int | None = None,
        error_message: str | None = None,
    ) -> UUID:  # fmt: skip
        """One API request's metrics; a key, if given, must be the acting user's (call it inside
        that user's transaction). Returns the metric's id."""
        api_key_id = None if api_key_id is None else as_uuid("api_key_id", api_key_id)
        checked_text("endpoint", endpoint)
        checked_text("method", method)
        status_code = checked_int("status_code", status_code, 100, 599)
        response_time_ms = checked_float("response_time_ms", response_time_ms, 0, REAL_MAX)
        if request_size_bytes is not None:
            request_size_bytes = checked_int("request_size_bytes", request_size_bytes, 0, INT4[1])
        if response_size_bytes is not None:
            response_size_bytes = checked_int("response_size_bytes", response_size_bytes, 0, INT4[1])
        if error_message is not None:
            checked_text("error_message", error_message)
        metric_id: UUID = await self.db.fetchval(
            "analytics.record_api_metric", "SELECT analytics.record_api_metric($1, $2, $3, $4, $5, $6, $7, $8)",
            api_key_id, endpoint, method, status_code, float(response_time_ms), request_size_bytes,
            response_size_bytes, error_message,
        )  # fmt: skip
        return metric_id

    async def roll_up_day(self, day: date) -> DailyStats:
        """daily_stats for `day`, and that day's feedback average and p95 per technique; idempotent."""
        checked_date("day", day)
        async with self.db.transaction():
            row = await self.db.fetchrow("analytics.daily_stats", ROLL_UP_DAY, day)
            await self.db.execute("analytics.technique_effectiveness", ROLL_UP_TECHNIQUES, day)
        assert row is not None  # INSERT … ON CONFLICT DO UPDATE … RETURNING always returns the row
        return DailyStats(**row)


def _check_counter(technique: object, intent: object, day: object) -> None:
    checked_text("technique", technique)
    checked_text("intent", intent)
    checked_date("day", day)
