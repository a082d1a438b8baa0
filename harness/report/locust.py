"""Locust's CSV output (`--csv PREFIX`): the summary per request name, the aggregated requests per
second and percentiles over time from the history file, and the SLO verdict the project's
locustfile writes beside them (`PREFIX_slo.json`: objectives with limit, measured p95 and met;
failure ratio and its limit; breaches in words, and the p95 misses a run only reported)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ResultsFileError


@dataclass(frozen=True)
class RequestSummary:
    type: str
    name: str
    requests: int
    failures: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    rps: float


@dataclass(frozen=True)
class HistoryPoint:
    t: float  # seconds since the run's first sample
    users: int
    rps: float
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class Objective:
    type: str
    name: str
    p95_limit_ms: float
    p95_ms: float
    met: bool


@dataclass(frozen=True)
class SloVerdict:
    objectives: list[Objective]
    failure_ratio: float
    max_failure_ratio: float
    breaches: list[str]
    advisory: list[str]  # p95 misses a --slo-latency report run only reported


@dataclass(frozen=True)
class LocustRun:
    prefix: str
    requests: list[RequestSummary]  # the "Aggregated" row last
    history: list[HistoryPoint]
    slo: SloVerdict | None = None

    def objective(self, type: str, name: str) -> Objective | None:
        found = [o for o in self.slo.objectives if (o.type, o.name) == (type, name)] if self.slo else []
        return found[0] if found else None


def load_locust(stats_csv: Path) -> LocustRun:
    """`PREFIX_stats.csv` and, when present, `PREFIX_stats_history.csv` beside it."""
    prefix = str(stats_csv).removesuffix("_stats.csv")
    try:
        requests = [_summary(row) for row in _rows(stats_csv)]
        history_csv = Path(prefix + "_stats_history.csv")
        history = _history(_rows(history_csv)) if history_csv.exists() else []
    except (KeyError, ValueError) as exc:
        raise ResultsFileError(f"{stats_csv}: not Locust CSV ({type(exc).__name__}: {exc})") from None
    slo_json = Path(prefix + "_slo.json")
    return LocustRun(Path(prefix).name, requests, history, _slo(slo_json) if slo_json.exists() else None)


def _slo(path: Path) -> SloVerdict:
    try:
        saved = json.loads(path.read_text())
        return SloVerdict(
            [Objective(str(o["type"]), str(o["name"]), float(o["p95_limit_ms"]), float(o["p95_ms"]), bool(o["met"]))
             for o in saved["objectives"]],
            float(saved["failure_ratio"]), float(saved["max_failure_ratio"]), [str(b) for b in saved["breaches"]],
            [str(a) for a in saved.get("advisory", [])],
        )  # fmt: skip
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ResultsFileError(f"{path}: not an SLO verdict ({type(exc).__name__}: {exc})") from None


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _number(value: str) -> float:
    return 0.0 if value in ("", "N/A") else float(value)


def _summary(row: dict[str, str]) -> RequestSummary:
    return RequestSummary(
        row["Type"], row["Name"], int(row["Request Count"]), int(row["Failure Count"]),
        _number(row["50%"]), _number(row["95%"]), _number(row["99%"]), _number(row["Requests/s"]),
    )  # fmt: skip


def _history(rows: list[dict[str, str]]) -> list[HistoryPoint]:
    aggregated = [r for r in rows if r["Name"] == "Aggregated"]
    if not aggregated:
        return []
    start = float(aggregated[0]["Timestamp"])
    return [
        HistoryPoint(float(r["Timestamp"]) - start, int(r["User Count"]), _number(r["Requests/s"]),
                     _number(r["50%"]), _number(r["95%"]))
        for r in aggregated
    ]  # fmt: skip
