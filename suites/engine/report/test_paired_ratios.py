"""Paired ratios: both sides of a pair measured in one benchmark, rounds alternating, read as two
benchmarks with a bootstrap interval, and judged against the baseline by the whole interval. The
interval's arithmetic runs on synthetic round lists: no server needed."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ResultsFileError
from harness.report import load_benchmarks
from harness.report.baseline import Comparison
from harness.report.benchmarks import paired_ratio


def noisy(seconds: float, count: int, spread: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [seconds * rng.uniform(1 - spread, 1 + spread) for _ in range(count)]


def stats(median: float) -> dict[str, float]:
    return {"min": median, "q1": median, "median": median, "q3": median, "max": median, "rounds": 3}


def paired_entry(name: str, subject: list[float], baseline: list[float], group: str = "g") -> dict[str, Any]:
    """A pytest-benchmark entry as `measure_pair` writes it (the stats are the pair's, unused)."""
    return {
        "group": group, "name": name, "params": {"concurrency": 8},
        "stats": stats(1.0),
        "extra_info": {"concurrency": 8, "paired": {
            "subject": {"name": f"{name}[layer]", "ops_per_round": 200, "rounds": subject},
            "baseline": {"name": f"{name}[raw]", "ops_per_round": 200, "rounds": baseline},
        }},
    }  # fmt: skip


def write_run(path: Path, *entries: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"benchmarks": list(entries)}))
    return path


def test_the_ratio_is_the_median_pairs_inside_its_interval_and_the_same_rounds_give_the_same_interval() -> None:
    subject, baseline = noisy(0.05, 25, 0.2, seed=1), noisy(0.04, 25, 0.2, seed=2)
    value, (low, high) = paired_ratio(subject, baseline)
    assert value == sorted(b / s for s, b in zip(subject, baseline, strict=True))[12]
    assert low < value < high
    assert low > 0.6  # 20 % noise on 25 pairs: some per cent either side of 0.8
    assert high < 1.05
    assert paired_ratio(subject, baseline) == (value, (low, high))  # seeded: a report is reproducible


def test_the_interval_narrows_as_pairs_are_added() -> None:
    def width(count: int) -> float:
        _, (low, high) = paired_ratio(noisy(0.05, count, 0.2, seed=3), noisy(0.04, count, 0.2, seed=4))
        return high - low

    assert width(100) < width(25) / 1.5


def test_what_both_rounds_of_a_pair_suffered_stays_out_of_the_interval() -> None:
    """A machine that is three times slower for some pairs, both sides alike: every pair's ratio,
    and so the interval, is exactly 0.8, where the sides' spread alone is wide."""
    load = noisy(1.0, 30, 0.5, seed=5)
    load = [factor * (3 if n % 4 == 0 else 1) for n, factor in enumerate(load)]
    subject = [0.0625 * factor for factor in load]
    baseline = [0.05 * factor for factor in load]
    value, interval = paired_ratio(subject, baseline)
    assert value == pytest.approx(0.8)
    assert interval == pytest.approx((0.8, 0.8))


@pytest.mark.parametrize(("subject", "baseline"), [([], []), ([1.0, 2.0], [1.0])])
def test_unequal_or_empty_rounds_have_no_interval(subject: list[float], baseline: list[float]) -> None:
    with pytest.raises(ValueError, match="as many subject as baseline rounds"):
        paired_ratio(subject, baseline)


def test_a_paired_benchmark_reads_as_its_two_sides_with_the_keys_separate_tests_had(tmp_path: Path) -> None:
    subject, baseline = noisy(0.05, 11, 0.1, seed=6), noisy(0.04, 11, 0.1, seed=7)
    run = load_benchmarks(write_run(
        tmp_path / "b.json", paired_entry("test_get_by_id", subject, baseline, group="pg-get-by-id c=8"),
        {"group": "old", "name": "test_s", "extra_info": {"role": "subject"}, "stats": stats(2.0)},
        {"group": "old", "name": "test_b", "extra_info": {"role": "baseline"}, "stats": stats(1.0)},
    ))  # fmt: skip
    layer, raw = run.benchmarks[:2]
    assert (layer.label, layer.role, layer.rounds, layer.median) == ("get_by_id[layer]", "subject", 11,
                                                                     sorted(subject)[5])  # fmt: skip
    assert (raw.label, raw.role, raw.ops_per_round, raw.min) == ("get_by_id[raw]", "baseline", 200, min(baseline))
    assert layer.extra == {"concurrency": 8}
    paired, old = run.ratios()
    assert paired.key == "pg-get-by-id c=8 :: get_by_id[layer]"
    assert (paired.value, paired.interval) == paired_ratio(subject, baseline)  # both sides do 200 operations a round
    assert (old.value, old.interval) == (0.5, None)  # a group of separate tests keeps its plain ratio


@pytest.mark.parametrize(
    ("subject", "baseline", "message"),
    [
        ([0.1, 0.1], [0.1], r"test_p: a pair needs as many subject as baseline rounds, got 2 and 1"),
        ([0.1, 0.0], [0.1, 0.1], r"test_p: the subject's rounds must be positive seconds"),
        ([], [], r"test_p: the subject's rounds must be positive seconds, got \[\]"),
    ],
)
def test_a_malformed_pair_is_named(tmp_path: Path, subject: list[float], baseline: list[float], message: str) -> None:
    path = write_run(tmp_path / "b.json", paired_entry("test_p", subject, baseline))
    with pytest.raises(ResultsFileError, match=f"{re.escape(str(path))}: not pytest-benchmark JSON.*{message}"):
        load_benchmarks(path)


@pytest.mark.parametrize(
    ("interval", "status"),
    [
        ((0.60, 0.85), "ok"),  # the value, 0.725, is below the floor of 0.75, but the interval reaches above it
        ((0.60, 0.74), "regressed"),  # even the interval's best is below the floor
        ((1.26, 1.40), "improved"),  # even its worst is above the ceiling of 1.25
        ((1.20, 1.40), "ok"),  # the value, 1.3, is above the ceiling, but the interval reaches below it
    ],
)
def test_a_paired_ratio_regresses_only_when_its_whole_interval_is_below_the_tolerated_floor(
    interval: tuple[float, float], status: str
) -> None:
    assert Comparison("g :: s", sum(interval) / 2, 1.0, 0.25, interval).status == status
    assert Comparison("g :: s", 0.7, 1.0, 0.25).status == "regressed"  # no interval: the value alone


def test_the_check_line_and_the_page_show_a_regressed_pair_with_its_interval(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_run(run_dir / "benchmarks.json", paired_entry("test_p", [0.1] * 5, [0.05] * 5))
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"tolerance": 0.2, "ratios": {"g :: p[layer]": 1.0}}))
    result = subprocess.run([sys.executable, "-m", "harness", "report", str(run_dir), "--baseline", str(baseline),
                             "--check"], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 1
    assert "0.5  regressed g :: p[layer]  (baseline 1, -50%)  95 % interval 0.5 to 0.5" in result.stdout
    assert "check failed: regressed: g :: p[layer]: 0.5 (95 % interval 0.5 to 0.5) against a baseline of 1 (-50%, " \
           "tolerance 20%)" in result.stderr  # fmt: skip
    assert '<td class="num">0.5 to 0.5</td>' in (run_dir / "index.html").read_text()
