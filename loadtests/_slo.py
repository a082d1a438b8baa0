"""Service-level objectives, in one place: a p95 per request name and the failure ratio. At quitting,
a breach sets the exit code to 1 and names itself; with `--slo-latency report` a missed p95 is only
reported (a short run on a shared machine measures its neighbours), the failure ratio still fails.
Locust keeps response times in whole milliseconds below 100 ms (coarser above), so a p95 under 1 ms
reads as 0 or 1."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypedDict

from locust.stats import RequestStats

from harness.errors import ConfigurationError

P95_MS: dict[str, float] = {
    "history page": 50,
    "similarity search": 50,
    "record enhancement": 100,
    "session create": 50,
    "session check": 20,
    "rate limit": 20,
    "cache hit": 20,
    "cache miss": 20,
    "cache set": 20,
}
MAX_FAILURE_RATIO = 0.01


class Verdict(TypedDict):
    """What `<csv prefix>_slo.json` holds, for `harness report`."""

    objectives: list[dict[str, object]]
    failure_ratio: float
    max_failure_ratio: float
    breaches: list[str]  # these fail the run
    advisory: list[str]  # p95 misses of a run with --slo-latency report


def with_overrides(overrides: Iterable[str]) -> dict[str, float]:
    """P95_MS with `NAME=MS` overrides (from --slo) applied."""
    limits = dict(P95_MS)
    for override in overrides:
        name, _, value = override.rpartition("=")
        try:
            if not name:
                raise ValueError(override)
            limits[name] = float(value)
        except ValueError:
            raise ConfigurationError(f"--slo {override!r}: expected NAME=MILLISECONDS") from None
    return limits


def latency_breaches(stats: RequestStats, p95_ms: Mapping[str, float]) -> list[str]:
    """Every p95 objective the run missed, in words."""
    missed = []
    for entry in stats.entries.values():
        limit = p95_ms.get(entry.name)
        if limit is not None and entry.num_requests:
            p95 = entry.get_response_time_percentile(0.95)
            if p95 > limit:
                missed.append(f"p95 of {entry.method} {entry.name!r} is {p95} ms, over its SLO of {limit:g} ms")
    return missed


def failure_breaches(stats: RequestStats, max_failure_ratio: float) -> list[str]:
    """The failure-ratio objective, in words, when the run missed it."""
    if stats.total.fail_ratio > max_failure_ratio:
        return [f"failure ratio is {stats.total.fail_ratio:.2%}, over its SLO of {max_failure_ratio:.2%}"]
    return []


def unmeasured(stats: RequestStats, p95_ms: Mapping[str, float]) -> list[str]:
    """Names with an objective but no requests: a typo, or a run too short to judge them."""
    seen = {entry.name for entry in stats.entries.values() if entry.num_requests}
    return sorted(set(p95_ms) - seen)


def fewest_requests(stats: RequestStats, names: Iterable[str]) -> int:
    """The smallest request count among `names` (0 while one has none)."""
    counts: dict[str, int] = {}
    for entry in stats.entries.values():
        counts[entry.name] = counts.get(entry.name, 0) + entry.num_requests
    return min((counts.get(name, 0) for name in names), default=0)


def verdict(
    stats: RequestStats, p95_ms: Mapping[str, float], max_failure_ratio: float, *, enforce_latency: bool
) -> Verdict:
    """Every objective with what the run measured, and which misses fail the run."""
    objectives: list[dict[str, object]] = [
        {"type": entry.method, "name": entry.name, "p95_limit_ms": p95_ms[entry.name],
         "p95_ms": entry.get_response_time_percentile(0.95),
         "met": entry.get_response_time_percentile(0.95) <= p95_ms[entry.name]}
        for entry in stats.entries.values() if entry.name in p95_ms and entry.num_requests
    ]  # fmt: skip
    latency = latency_breaches(stats, p95_ms)
    return Verdict(
        objectives=objectives,
        failure_ratio=stats.total.fail_ratio,
        max_failure_ratio=max_failure_ratio,
        breaches=failure_breaches(stats, max_failure_ratio) + (latency if enforce_latency else []),
        advisory=[] if enforce_latency else latency,
    )
