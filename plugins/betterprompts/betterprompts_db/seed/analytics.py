"""Analytics derived from the generated history, so every counter agrees with the rows it counts.

API metrics record each request that came with an API key (and bump the key's usage); user
activity logs logins, settings changes, enhancements, feedback and saves; technique effectiveness
and daily stats are roll-ups of the history by day.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from array import array
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from betterprompts_db.data.postgres.records import (
    ApiMetric,
    DailyStats,
    SavedPrompt,
    TechniqueEffectiveness,
    UserActivity,
)
from betterprompts_db.seed.history import History, intent_of, milliseconds
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.people import Person
from betterprompts_db.seed.profiles import Profile, World
from betterprompts_db.seed.reference import Vocabulary

STATUSES = ((200, None), (400, "invalid request body"), (429, "rate limit exceeded"), (503, "enhancer unavailable"))


@dataclass
class Cell:
    """One (technique, intent, day) of technique effectiveness, as history adds to it."""

    total: int = 0
    scores: list[int] = field(default_factory=list)
    times: array[int] = field(default_factory=lambda: array("l"))


@dataclass
class Day:
    """One day of daily stats, as history adds to it."""

    requests: int = 0
    users: set[UUID] = field(default_factory=set)
    milliseconds: int = 0
    techniques: Counter[str] = field(default_factory=Counter)
    intents: Counter[str] = field(default_factory=Counter)
    hours: Counter[int] = field(default_factory=Counter)


class AnalyticsWriter:
    """Analytics of each batch of history as it is written, each kind from a random stream of its
    own drawn in history order; the roll-ups keep counts (and processing times, for the p95) only."""

    def __init__(self, world: World, profile: Profile, words: Vocabulary, users: list[Person]) -> None:
        self.world, self.profile, self.words, self.users = world, profile, words, users
        self.metrics_rng = random.Random(f"{world.random_seed}:api_metrics")
        self.activity_rng = random.Random(f"{world.random_seed}:user_activity")
        self.sessions = {s.id: (s.ip_address, s.user_agent) for u in users for s in u.sessions}
        self.reads_per_day: Counter[dt.date] = Counter()  # API calls that enhance nothing
        self.errors_per_day: Counter[dt.date] = Counter()
        self.cells: dict[tuple[str, str, dt.date], Cell] = defaultdict(Cell)
        self.days: dict[dt.date, Day] = defaultdict(Day)

    def api_metrics(self, history: History) -> list[ApiMetric]:
        """One POST per API enhancement, and now and then a read; each key counts its uses."""
        world, rng = self.world, self.metrics_rng
        metrics = []
        for row, key in zip(history.rows, history.api_keys, strict=True):
            if key is None:
                continue
            calls = [("/api/v1/enhance", "POST", row.created_at)]
            if rng.random() < 0.15:
                calls.append((rng.choice(self.words.api_endpoints), "GET", row.created_at + dt.timedelta(seconds=30)))
            for endpoint, method, at in calls:
                status, message = rng.choices(STATUSES, (94, 2, 3, 1))[0]
                ok = status < 400
                response_ms = milliseconds(row) + rng.randrange(5, 60) if ok else rng.randrange(2, 40)
                self.reads_per_day[at.date()] += method == "GET"
                self.errors_per_day[at.date()] += status >= 500
                metrics.append(
                    ApiMetric(
                        id=stable_uuid(world.random_seed, "api_metric", row.id, endpoint, method), api_key_id=key.id,
                        endpoint=endpoint, method=method, status_code=status,
                        response_time_ms=float(response_ms),
                        request_size_bytes=len(row.original_input) + 180 if method == "POST" else 0,
                        response_size_bytes=len(row.enhanced_output) + 320 if ok else 64, error_message=message,
                        created_at=at, updated_at=at,
                    )
                )  # fmt: skip
                key.usage_count += 1
                key.last_used_at = key.updated_at = max(at, key.last_used_at or at)
        return metrics

    def activity(self, kind: str, user_id: UUID, data: Mapping[str, object], session_id: UUID | None,
                 at: dt.datetime) -> UserActivity:  # fmt: skip
        ip, agent = self.sessions.get(session_id, (None, None)) if session_id else (None, None)
        activity_id = stable_uuid(self.world.random_seed, "activity", kind, user_id, data.get("ref", session_id), at)
        return UserActivity(
            id=activity_id, user_id=user_id, activity_type=kind, data=dict(data), session_id=session_id, ip_address=ip,
            user_agent=agent, created_at=at, updated_at=at,
        )  # fmt: skip

    def account_activity(self) -> list[UserActivity]:
        """Logins, logouts and settings changes of every user."""
        rows = []
        for user in self.users:
            for session in user.sessions:
                rows.append(self.activity("login", user.id, {"method": "password"}, session.id, session.created_at))
                if session.revoked_at is not None:
                    rows.append(self.activity("logout", user.id, {}, session.id, session.revoked_at))
            if user.preferences is not None:
                ref = {"ref": str(user.preferences.id)}
                rows.append(self.activity("settings_change", user.id, ref, None, user.preferences.created_at))
        return rows

    def request_activity(self, history: History, saved: list[SavedPrompt]) -> list[UserActivity]:
        """Enhancements (a share of them) with their feedback, and prompts saved, of a batch."""
        rows = []
        for row in history.rows:
            if row.user_id is None or self.activity_rng.random() >= self.profile.activity_share:
                continue
            ref: dict[str, object] = {"ref": str(row.id), "intent": row.intent}
            rows.append(self.activity("enhance", row.user_id, ref, row.session_id, row.created_at))
            if row.feedback_score is not None:
                data = ref | {"score": row.feedback_score}
                rows.append(self.activity("feedback", row.user_id, data, row.session_id, row.updated_at))
        rows += [self.activity("save_prompt", s.user_id, {"ref": str(s.id)}, None, s.created_at) for s in saved]
        return rows

    def count(self, history: History) -> None:
        """Add a batch to the roll-ups."""
        for row in history.rows:
            intent, ms = intent_of(row), milliseconds(row)
            for technique in row.techniques_used:
                cell = self.cells[technique, intent, row.created_at.date()]
                cell.total += 1
                cell.times.append(ms)
                if row.feedback_score is not None:
                    cell.scores.append(row.feedback_score)
            day = self.days[row.created_at.date()]
            day.requests += 1
            if row.user_id is not None:
                day.users.add(row.user_id)
            day.milliseconds += ms
            day.techniques.update(row.techniques_used)
            day.intents[intent] += 1
            day.hours[row.created_at.hour] += 1

    def technique_effectiveness(self) -> list[TechniqueEffectiveness]:
        rows = []
        for (technique, intent, day), cell in sorted(self.cells.items()):
            scores, times = cell.scores, sorted(cell.times)
            closed = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
            rows.append(
                TechniqueEffectiveness(
                    id=stable_uuid(self.world.random_seed, "effectiveness", technique, intent, day),
                    technique=technique, intent=intent, day=day, success_count=sum(score >= 4 for score in scores),
                    total_count=cell.total,
                    avg_feedback_score=Decimal(statistics.fmean(scores)).quantize(Decimal("0.01")) if scores else None,
                    avg_processing_time_ms=round(statistics.fmean(times), 1),
                    p95_processing_time_ms=float(times[min(len(times) - 1, int(len(times) * 0.95))]),
                    created_at=closed, updated_at=closed,
                )
            )  # fmt: skip
        return rows

    def daily_stats(self) -> list[DailyStats]:
        """One row per day of the history window; requests are enhancements plus the API's reads."""
        new_users = Counter(user.created_at.date() for user in self.users)
        rows = []
        day = self.world.history_start.date()
        while day < self.world.epoch.date():
            seen = self.days.get(day, Day())
            closed = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
            rows.append(
                DailyStats(
                    id=stable_uuid(self.world.random_seed, "daily_stats", day), day=day,
                    total_requests=seen.requests + self.reads_per_day[day], unique_users=len(seen.users),
                    new_users=new_users[day], total_enhancements=seen.requests,
                    avg_response_time_ms=round(seen.milliseconds / seen.requests, 1) if seen.requests else None,
                    error_count=self.errors_per_day[day], technique_breakdown=dict(sorted(seen.techniques.items())),
                    intent_breakdown=dict(sorted(seen.intents.items())),
                    hourly_breakdown={f"{h:02d}": c for h, c in sorted(seen.hours.items())},
                    created_at=closed, updated_at=closed,
                )
            )  # fmt: skip
            day += dt.timedelta(days=1)
        return rows
