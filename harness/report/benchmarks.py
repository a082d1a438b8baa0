"""pytest-benchmark's saved JSON, read into what a report needs: each benchmark's per-operation
timings and throughput, and each group's ratios.

Convention (set by the benchmarks in `extra_info`): `role` is "baseline" on the one member of a
group every other member is measured against ("reference" members are shown but not compared);
`ops_per_round` is how many operations one timed round performs. A ratio is subject throughput
over baseline throughput, both taken from the rounds' medians, so 0.9 reads "90 % of the
baseline's throughput" and 50 reads "50 times faster". Ratios measured side by side in one run
hold still on a noisy machine where absolute timings do not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ResultsFileError

ROLES = ("subject", "baseline", "reference")


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
            found += [Ratio(group, b.label, base.label, b.throughput / base.throughput)
                      for b in members if b.role == "subject"]  # fmt: skip
        return found


def load_benchmarks(path: Path) -> BenchmarkRun:
    """A `--benchmark-json` file; an error names the file and what is wrong with it."""
    try:
        saved = json.loads(path.read_text())
        benchmarks = [_benchmark(entry) for entry in saved["benchmarks"]]
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


def _benchmark(entry: dict[str, Any]) -> Benchmark:
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
    )
