"""pytest-benchmark's saved JSON, read into what a report needs: each benchmark's per-operation
timings and throughput, and each group's ratios.

Convention (set by the benchmarks in `extra_info`): `role` is "baseline" on the one member of a
group every other member is measured against ("reference" members are shown but not compared);
`ops_per_round` is how many operations one timed round performs. A ratio is subject throughput
over baseline throughput, both taken from the rounds' medians (for a paired benchmark, from the
median pair), so 0.9 reads "90 % of the baseline's throughput" and 50 reads "50 times faster".
Ratios measured side by side in one run hold still on a noisy machine where absolute timings do not.

A paired benchmark measures both sides in one test, alternating their rounds, and records each
side's per-round seconds in `extra_info["paired"]`:

    {"subject": {"name": "test_x[layer]", "ops_per_round": 200, "rounds": [0.041, ...]},
     "baseline": {"name": "test_x[raw]", "ops_per_round": 200, "rounds": [0.038, ...]}}

It is read as two benchmarks named as separate tests would be (so baseline keys carry over), and
its ratio is the median pair's, with a 95 % bootstrap interval (`paired_ratio`).
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ResultsFileError

ROLES = ("subject", "baseline", "reference")
RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 0  # a fixed seed: the same JSON always gives the same interval, and so the same verdict


@dataclass(frozen=True)
class Benchmark:
    group: str
    name: str
    role: str
    ops_per_round: float
    rounds: int
    min: float  # seconds per round, as pytest-benchmark saw them
    q1: float
    median: float
    q3: float
    max: float
    extra: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    pair: str = ""  # the paired benchmark this side was measured in; "" for a test of its own
    round_seconds: tuple[float, ...] = ()  # each round, in the order run (paired benchmarks only)

    @property
    def label(self) -> str:
        """The test name without its `test_` prefix: what a reader scans for."""
        return self.name.removeprefix("test_")

    @property
    def throughput(self) -> float:
        """Operations per second at the median round."""
        return self.ops_per_round / self.median

    def per_op(self, seconds: float) -> float:
        return seconds / self.ops_per_round


@dataclass(frozen=True)
class Ratio:
    group: str
    subject: str
    baseline: str
    value: float
    interval: tuple[float, float] | None = None  # 95 % bootstrap interval, for paired measurements

    @property
    def key(self) -> str:
        """Stable across runs: what baselines are keyed by."""
        return f"{self.group} :: {self.subject}"


@dataclass(frozen=True)
class BenchmarkRun:
    benchmarks: list[Benchmark]
    machine: dict[str, Any]
    commit: dict[str, Any]
    environment: dict[str, Any]  # backend and server versions, from the benchmarks' conftest
    when: str

    def groups(self) -> dict[str, list[Benchmark]]:
        grouped: dict[str, list[Benchmark]] = {}
        for bench in self.benchmarks:
            grouped.setdefault(bench.group, []).append(bench)
        return grouped

    def ratios(self) -> list[Ratio]:
        """One per subject of every group that has a baseline."""
        found = []
        for group, members in self.groups().items():
            baselines = [b for b in members if b.role == "baseline"]
            if len(baselines) > 1:
                names = ", ".join(b.name for b in baselines)
                raise ResultsFileError(f"benchmark group {group!r} has more than one baseline: {names}")
            if not baselines:
                continue
            base = baselines[0]
            found += [_ratio(group, b, base) for b in members if b.role == "subject"]
        return found


def paired_ratio(
    subject: Sequence[float], baseline: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float, tuple[float, float]]:
    """The median over pairs of baseline seconds / subject seconds (the time ratio) and its
    percentile-bootstrap interval at CONFIDENCE. A pair's two rounds ran back to back on the same
    machine, so its ratio cancels what the machine did to both; the median drops the pairs a stall
    hit on one side only. Five busy quick runs moved by ±6 % at most this way, by ±25 % as a ratio
    of the two sides' medians (README, Performance)."""
    if len(subject) != len(baseline) or not subject:
        raise ValueError(f"a pair needs as many subject as baseline rounds, at least one; got {len(subject)} and "
                         f"{len(baseline)}")  # fmt: skip
    ratios = [b / s for s, b in zip(subject, baseline, strict=True)]
    rng = random.Random(seed)
    draws = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(resamples))
    tail = (1 - CONFIDENCE) / 2
    interval = draws[math.floor(tail * resamples)], draws[math.ceil((1 - tail) * resamples) - 1]
    return statistics.median(ratios), interval


def _ratio(group: str, subject: Benchmark, baseline: Benchmark) -> Ratio:
    """Throughput over throughput at the medians; for two sides of one paired benchmark, the median
    pair's, with its interval."""
    if not subject.pair or subject.pair != baseline.pair:
        return Ratio(group, subject.label, baseline.label, subject.throughput / baseline.throughput)
    value, (low, high) = paired_ratio(subject.round_seconds, baseline.round_seconds)
    scale = subject.ops_per_round / baseline.ops_per_round
    return Ratio(group, subject.label, baseline.label, value * scale, (low * scale, high * scale))


def load_benchmarks(path: Path) -> BenchmarkRun:
    """A `--benchmark-json` file; an error names the file and what is wrong with it."""
    try:
        saved = json.loads(path.read_text())
        benchmarks = [bench for entry in saved["benchmarks"] for bench in _benchmarks(entry)]
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: no such benchmark file") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ResultsFileError(f"{path}: not pytest-benchmark JSON ({type(exc).__name__}: {exc})") from None
    return BenchmarkRun(
        benchmarks,
        saved.get("machine_info", {}),
        saved.get("commit_info", {}),
        saved.get("harness", {}),
        saved.get("datetime", ""),
    )


def merge_benchmark_runs(shards: Sequence[BenchmarkRun]) -> BenchmarkRun:
    """The benchmarks of several shards as one run, described by the first shard's machine and commit.
    A ratio still compares members measured on one machine only when its group ran in one shard (a
    paired benchmark always does: both sides are one test)."""
    first = shards[0]
    merged = [bench for shard in shards for bench in shard.benchmarks]
    return BenchmarkRun(merged, first.machine, first.commit, first.environment, first.when)


def _benchmarks(entry: dict[str, Any]) -> list[Benchmark]:
    """One benchmark, or a paired one's two sides with statistics of their own rounds."""
    if "paired" not in (entry.get("extra_info") or {}):
        return [_benchmark(entry)]
    extra = dict(entry["extra_info"])
    paired = extra.pop("paired")
    sides = []
    for role in ("subject", "baseline"):
        side = paired[role]
        seconds = tuple(float(s) for s in side["rounds"])
        if not seconds or min(seconds) <= 0:
            raise ValueError(f"{entry['name']}: the {role}'s rounds must be positive seconds, got {side['rounds']!r}")
        q1, median, q3 = statistics.quantiles(seconds, n=4) if len(seconds) > 1 else (seconds[0],) * 3
        sides.append(_benchmark({
            "name": side["name"], "group": entry.get("group") or entry["name"],
            "params": {**(entry.get("params") or {}), "role": role},
            "extra_info": {**extra, "role": role, "ops_per_round": side["ops_per_round"]},
            "stats": {"rounds": len(seconds), "min": min(seconds), "q1": q1, "median": median, "q3": q3,
                      "max": max(seconds)},
        }, pair=entry["name"], round_seconds=seconds))  # fmt: skip
    if sides[0].rounds != sides[1].rounds:
        raise ValueError(f"{entry['name']}: a pair needs as many subject as baseline rounds, got "
                         f"{sides[0].rounds} and {sides[1].rounds}")  # fmt: skip
    return sides


def _benchmark(entry: dict[str, Any], pair: str = "", round_seconds: tuple[float, ...] = ()) -> Benchmark:
    extra = dict(entry.get("extra_info") or {})
    role = extra.pop("role", "subject")
    if role not in ROLES:
        raise ValueError(f"{entry['name']}: role {role!r} is not one of {ROLES}")
    ops = float(extra.pop("ops_per_round", 1))
    if ops <= 0:
        raise ValueError(f"{entry['name']}: ops_per_round must be positive, got {ops}")
    stats = entry["stats"]
    return Benchmark(
        group=entry.get("group") or entry["name"],
        name=entry["name"],
        role=role,
        ops_per_round=ops,
        rounds=int(stats["rounds"]),
        min=float(stats["min"]),
        q1=float(stats["q1"]),
        median=float(stats["median"]),
        q3=float(stats["q3"]),
        max=float(stats["max"]),
        extra=extra,
        params=dict(entry.get("params") or {}),
        pair=pair,
        round_seconds=round_seconds,
    )
