"""Load shapes, chosen with --shape (env LOADTEST_SHAPE): `ramp` (the default), `spike`, `soak`, or
`none` for Locust's own -u/-r/-t. Each scales to --users (its peak) and --run-time when given, and
to its own defaults otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from locust import LoadTestShape


@dataclass(frozen=True)
class Stage:
    until: float  # the fraction of the run at which the stage ends
    users: float  # the fraction of the peak held during the stage
    reach: float  # the fraction of the run taken to get there from the previous stage


class StagedShape(LoadTestShape):
    """Stages as fractions of the run's length and of the peak, so one shape serves a 5-second
    smoke run and an hour-long one; the run stops after its last stage."""

    abstract = True
    stages: ClassVar[tuple[Stage, ...]]
    default_users: ClassVar[int]
    default_seconds: ClassVar[int]

    def __init__(self, users: int | None = None, seconds: int | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # locust leaves LoadTestShape unannotated
        self.peak = users or self.default_users
        self.seconds = seconds or self.default_seconds

    def tick(self) -> tuple[int, float] | None:
        elapsed, previous = self.get_run_time(), 0  # type: ignore[no-untyped-call]
        for stage in self.stages:
            users = max(1, round(stage.users * self.peak))
            if elapsed < stage.until * self.seconds:
                return users, max(abs(users - previous), 1) / (stage.reach * self.seconds)
            previous = users
        return None


class RampShape(StagedShape):
    """Up to the peak over the first half of the run, then hold it: where does latency bend?"""

    stages = (Stage(until=1.0, users=1.0, reach=0.5),)
    default_users, default_seconds = 20, 60


class SpikeShape(StagedShape):
    """A fifth of the peak, the whole peak almost at once, then back: does it recover?"""

    stages = (
        Stage(until=0.3, users=0.2, reach=0.1),
        Stage(until=0.5, users=1.0, reach=0.02),
        Stage(until=1.0, users=0.2, reach=0.02),
    )
    default_users, default_seconds = 50, 120


class SoakShape(StagedShape):
    """The peak held for long (30 minutes by default): leaks, bloat, growing latencies."""

    stages = (Stage(until=1.0, users=1.0, reach=0.05),)
    default_users, default_seconds = 20, 1800


SHAPES: dict[str, type[StagedShape]] = {"ramp": RampShape, "spike": SpikeShape, "soak": SoakShape}
