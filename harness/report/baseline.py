"""Committed baselines (`reports/baselines/*.json`): the ratios a known-good run measured, and how
far each may fall before a run counts as a regression.

    {"tolerance": 0.25, "tolerances": {"<group> :: <subject>": 0.4}, "ratios": {"<group> :: <subject>": 0.93}}

A ratio regresses when it falls below baseline * (1 - tolerance); a paired ratio, which carries a
bootstrap interval, only when the whole interval does (its upper bound is below), so one noisy
run does not fail CI and a tight interval can be held to a tight tolerance. Ratios, not timings, are
compared, so a slower CI machine does not fail a run; a slower data layer beside the same raw
driver does. Groups in the baseline that the run did not measure are listed as missing, not
failed: a quick pass measures fewer groups than a full one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ResultsFileError
from harness.report.benchmarks import Ratio

DEFAULT_TOLERANCE = 0.25


@dataclass(frozen=True)
class Baseline:
    ratios: dict[str, float]
    tolerance: float = DEFAULT_TOLERANCE
    tolerances: dict[str, float] | None = None

    def tolerance_for(self, key: str) -> float:
        return (self.tolerances or {}).get(key, self.tolerance)


@dataclass(frozen=True)
class Comparison:
    key: str
    value: float | None  # this run's ratio; None when the run did not measure it
    baseline: float | None  # None when the baseline does not know it
    tolerance: float
    interval: tuple[float, float] | None = None  # this run's 95 % interval, for paired ratios

    @property
    def change(self) -> float | None:
        """Relative change against the baseline (-0.3 is 30 % worse)."""
        if self.value is None or self.baseline is None:
            return None
        return self.value / self.baseline - 1

    @property
    def status(self) -> str:
        """Regressed when even the best this run's interval allows is below the tolerated floor;
        improved when even its worst is above the ceiling. A ratio without an interval is its own."""
        if self.value is None or self.baseline is None:
            return "new" if self.baseline is None else "missing"
        low, high = self.interval or (self.value, self.value)
        if high < self.baseline * (1 - self.tolerance):
            return "regressed"
        return "improved" if low > self.baseline * (1 + self.tolerance) else "ok"


def load_baseline(path: Path) -> Baseline:
    try:
        saved = json.loads(path.read_text())
        ratios = {str(k): float(v) for k, v in saved["ratios"].items()}
        tolerance = float(saved.get("tolerance", DEFAULT_TOLERANCE))
        tolerances = {str(k): float(v) for k, v in saved.get("tolerances", {}).items()}
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: no such baseline file") from None
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot read the baseline ({exc.strerror})") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResultsFileError(f"{path}: not a baseline file ({type(exc).__name__}: {exc})") from None
    for key, value in [("tolerance", tolerance), *tolerances.items()]:
        if not 0 < value < 1:
            raise ResultsFileError(f"{path}: tolerance of {key!r} must be between 0 and 1, got {value}")
    return Baseline(ratios, tolerance, tolerances)


def compare(ratios: list[Ratio], baseline: Baseline) -> list[Comparison]:
    """Every ratio of the run or the baseline, in the run's order, then the missing ones."""
    measured = {r.key: r for r in ratios}
    keys = list(measured) + [k for k in baseline.ratios if k not in measured]
    found = []
    for key in keys:
        ratio = measured.get(key)
        value, interval = (ratio.value, ratio.interval) if ratio else (None, None)
        found.append(Comparison(key, value, baseline.ratios.get(key), baseline.tolerance_for(key), interval))
    return found


def save_baseline(ratios: list[Ratio], path: Path) -> Baseline:
    """Write this run's ratios as the baseline, keeping the tolerances an existing file states."""
    previous = load_baseline(path) if path.exists() else Baseline({})
    baseline = Baseline({r.key: round(r.value, 4) for r in ratios}, previous.tolerance, previous.tolerances)
    document: dict[str, Any] = {"tolerance": baseline.tolerance, "tolerances": baseline.tolerances or {},
                                "ratios": baseline.ratios}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return baseline
