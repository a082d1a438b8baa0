"""Analytics derived from the generated history, so every counter agrees with the rows it counts.

API metrics record each request that came with an API key (and bump the key's usage); user
activity logs logins, settings changes, enhancements, feedback and saves; technique effectiveness
and daily stats are roll-ups of the history by day.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from betterprompts_db.data.postgres.records import (
    ApiMetric,
    DailyStats,
    HistoryEntry,
    IPAddress,
    TechniqueEffectiveness,
    UserActivity,
)
from betterprompts_db.seed.history import History, intent_of, milliseconds
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.library import Library
from betterprompts_db.seed.people import Person
from betterprompts_db.seed.profiles import Profile, World
from betterprompts_db.seed.reference import Vocabulary

STATUSES = ((200, None), (400, "invalid request body"), (429, "rate limit exceeded"), (503, "enhancer unavailable"))


@dataclass
class Analytics:
    api_metrics: list[ApiMetric] = field(default_factory=list)
    user_activity: list[UserActivity] = field(default_factory=list)
    technique_effectiveness: list[TechniqueEffectiveness] = field(default_factory=list)
    daily_stats: list[DailyStats] = field(default_factory=list)
    reads_per_day: Counter[dt.date] = field(default_factory=Counter)  # API calls that enhance nothing
    errors_per_day: Counter[dt.date] = field(default_factory=Counter)


def build_analytics(
    world: World, profile: Profile, words: Vocabulary, users: list[Person], history: History, library: Library
) -> Analytics:
    analytics = Analytics()
    api_metrics(world, words, history, analytics)
    user_activity(world, profile, users, history, library, analytics)
    technique_effectiveness(world, history, analytics)
    daily_stats(world, users, history, analytics)
    return analytics


def api_metrics(world: World, words: Vocabulary, history: History, analytics: Analytics) -> None:
    """One POST per API enhancement, and now and then a read."""
    rng = random.Random(f"{world.random_seed}:api_metrics")
    for row, key in zip(history.rows, history.api_keys, strict=True):
        if key is None:
            continue
        calls = [("/api/v1/enhance", "POST", row.created_at)]
        if rng.random() < 0.15:
            calls.append((rng.choice(words.api_endpoints), "GET", row.created_at + dt.timedelta(seconds=30)))
        for endpoint, method, at in calls:
            status, message = rng.choices(STATUSES, (94, 2, 3, 1))[0]
            ok = status < 400
            analytics.reads_per_day[at.date()] += method == "GET"
            analytics.errors_per_day[at.date()] += status >= 500
            analytics.api_metrics.append(
                ApiMetric(
                    id=stable_uuid(world.random_seed, "api_metric", row.id, endpoint, method), api_key_id=key.id,
                    endpoint=endpoint, method=method, status_code=status,
                    response_time_ms=float(milliseconds(row) + rng.randrange(5, 60) if ok else rng.randrange(2, 40)),
                    request_size_bytes=len(row.original_input) + 180 if method == "POST" else 0,
                    response_size_bytes=len(row.enhanced_output) + 320 if ok else 64, error_message=message,
                    created_at=at, updated_at=at,
                )
            )  # fmt: skip
            key.usage_count += 1
            key.last_used_at = key.updated_at = max(at, key.last_used_at or at)


def user_activity(
    world: World, profile: Profile, users: list[Person], history: History, library: Library, analytics: Analytics
) -> None:
    rng = random.Random(f"{world.random_seed}:user_activity")
    rows = analytics.user_activity
    sessions: dict[UUID | None, tuple[IPAddress | None, str | None]] = {}

    def add(kind: str, user_id: UUID, data: dict[str, object], session_id: UUID | None, at: dt.datetime) -> None:
        ip, agent = sessions.get(session_id, (None, None))
        activity_id = stable_uuid(world.random_seed, "activity", kind, user_id, data.get("ref", session_id), at)
        rows.append(
            UserActivity(
                id=activity_id, user_id=user_id, activity_type=kind, data=data, session_id=session_id, ip_address=ip,
                user_agent=agent, created_at=at, updated_at=at,
            )
        )  # fmt: skip

    for user in users:
        for session in user.sessions:
            sessions[session.id] = (session.ip_address, session.user_agent)
            add("login", user.id, {"method": "password"}, session.id, session.created_at)
            if session.revoked_at is not None:
                add("logout", user.id, {}, session.id, session.revoked_at)
        if user.preferences is not None:
            add("settings_change", user.id, {"ref": str(user.preferences.id)}, None, user.preferences.created_at)
    for row in history.rows:
        if row.user_id is None or rng.random() >= profile.activity_share:
            continue
        ref: dict[str, object] = {"ref": str(row.id), "intent": row.intent}
        add("enhance", row.user_id, ref, row.session_id, row.created_at)
        if row.feedback_score is not None:
            add("feedback", row.user_id, ref | {"score": row.feedback_score}, row.session_id, row.updated_at)
    for saved in library.saved_prompts:
        add("save_prompt", saved.user_id, {"ref": str(saved.id)}, None, saved.created_at)


def technique_effectiveness(world: World, history: History, analytics: Analytics) -> None:
    cells: dict[tuple[str, str, dt.date], list[tuple[int | None, int]]] = defaultdict(list)
    for row in history.rows:
        for technique in row.techniques_used:
            cells[technique, intent_of(row), row.created_at.date()].append((row.feedback_score, milliseconds(row)))
    for (technique, intent, day), outcomes in sorted(cells.items()):
        scores = [score for score, _ in outcomes if score is not None]
        times = sorted(ms for _, ms in outcomes)
        closed = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
        analytics.technique_effectiveness.append(
            TechniqueEffectiveness(
                id=stable_uuid(world.random_seed, "effectiveness", technique, intent, day), technique=technique,
                intent=intent, day=day, success_count=sum(score >= 4 for score in scores), total_count=len(outcomes),
                avg_feedback_score=Decimal(statistics.fmean(scores)).quantize(Decimal("0.01")) if scores else None,
                avg_processing_time_ms=round(statistics.fmean(times), 1),
                p95_processing_time_ms=float(times[min(len(times) - 1, int(len(times) * 0.95))]),
                created_at=closed, updated_at=closed,
            )
        )  # fmt: skip


def daily_stats(world: World, users: list[Person], history: History, analytics: Analytics) -> None:
    """One row per day of the history window; requests are enhancements plus the API's reads."""
    by_day: dict[dt.date, list[HistoryEntry]] = defaultdict(list)
    for row in history.rows:
        by_day[row.created_at.date()].append(row)
    new_users = Counter(user.created_at.date() for user in users)
    day = world.history_start.date()
    while day < world.epoch.date():
        rows = by_day.get(day, [])
        closed = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
        analytics.daily_stats.append(
            DailyStats(
                id=stable_uuid(world.random_seed, "daily_stats", day), day=day,
                total_requests=len(rows) + analytics.reads_per_day[day],
                unique_users=len({r.user_id for r in rows if r.user_id is not None}), new_users=new_users[day],
                total_enhancements=len(rows),
                avg_response_time_ms=round(statistics.fmean(milliseconds(r) for r in rows), 1) if rows else None,
                error_count=analytics.errors_per_day[day],
                technique_breakdown=dict(sorted(Counter(t for r in rows for t in r.techniques_used).items())),
                intent_breakdown=dict(sorted(Counter(intent_of(r) for r in rows).items())),
                hourly_breakdown={f"{h:02d}": c for h, c in sorted(Counter(r.created_at.hour for r in rows).items())},
                created_at=closed, updated_at=closed,
            )
        )  # fmt: skip
        day += dt.timedelta(days=1)
