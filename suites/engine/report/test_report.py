"""`harness report`: ratios, the baseline comparison and the rendered page, from files a real
pytest-benchmark and pytest --junitxml run wrote (pytester), plus hand-made JSON where the test is
about arithmetic or bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ResultsFileError
from harness.report import build_report, compare, load_baseline, load_benchmarks, save_baseline, write_report
from harness.report.baseline import Baseline

pytest_plugins = ["pytester"]

BENCHMARKS = """
import time
import pytest

@pytest.mark.parametrize("concurrency", [1, 2])
@pytest.mark.parametrize("side", ["fast", "slow"])
def test_pair(benchmark, side, concurrency):
    benchmark.group = f"pair c={concurrency}"
    benchmark.extra_info.update(role="subject" if side == "fast" else "baseline", ops_per_round=10,
                                concurrency=concurrency)
    benchmark.pedantic(lambda: time.sleep((0.001 if side == "fast" else 0.02) / concurrency), rounds=5)

def test_broken():
    assert 1 == 2, "on purpose"
"""


def stats(median: float) -> dict[str, float]:
    return {"min": median, "q1": median, "median": median, "q3": median, "max": median, "rounds": 3}


def benchmark_json(path: Path, *entries: tuple[str, str, float, dict[str, Any]]) -> Path:
    """A pytest-benchmark file with (group, name, median seconds, extra_info) entries."""
    path.write_text(json.dumps({"benchmarks": [
        {"group": group, "name": name, "extra_info": extra, "stats": stats(median)}
        for group, name, median, extra in entries
    ]}))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory written by a real pytest + pytest-benchmark process."""
    run_dir = tmp_path_factory.mktemp("run")
    (run_dir / "test_bench.py").write_text(BENCHMARKS)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:harness", "-p", "no:cacheprovider", "-p", "no:xdist",
         "test_bench.py", "--benchmark-json=benchmarks.json", "--junitxml=junit-bench.xml", "-q"],
        cwd=run_dir, capture_output=True, check=False,
        # pytest-benchmark stays off in what looks like an xdist worker
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
    )  # fmt: skip
    return run_dir


def test_ratios_come_from_a_real_benchmark_run_and_read_as_throughput_over_the_baseline(real_run: Path) -> None:
    run = load_benchmarks(real_run / "benchmarks.json")
    ratio, _ = run.ratios()
    assert (ratio.group, ratio.subject, ratio.baseline) == ("pair c=1", "pair[fast-1]", "pair[slow-1]")
    assert ratio.value > 1  # sleeps of 1 ms against 20 ms: the subject is the faster side, even on a busy machine
    assert ratio.key == "pair c=1 :: pair[fast-1]"


def test_the_ratio_is_subject_throughput_over_baseline_throughput_with_operations_per_round(tmp_path: Path) -> None:
    path = benchmark_json(
        tmp_path / "b.json",
        ("g", "test_layer", 0.2, {"role": "subject", "ops_per_round": 100}),
        ("g", "test_raw", 0.1, {"role": "baseline", "ops_per_round": 100}),
        ("g", "test_other", 0.1, {"role": "reference", "ops_per_round": 100}),
        ("seed", "test_seed", 10.0, {"role": "subject", "ops_per_round": 1000}),
        ("seed", "test_pgbench", 1.0, {"role": "baseline", "ops_per_round": 50_000}),
        ("alone", "test_alone", 1.0, {}),
    )
    ratios = {r.key: r.value for r in load_benchmarks(path).ratios()}
    assert ratios == {"g :: layer": pytest.approx(0.5), "seed :: seed": pytest.approx(0.002)}


def test_a_group_with_two_baselines_is_refused_by_name(tmp_path: Path) -> None:
    path = benchmark_json(tmp_path / "b.json", ("twice", "test_a", 1.0, {"role": "baseline"}),
                          ("twice", "test_b", 1.0, {"role": "baseline"}))  # fmt: skip
    with pytest.raises(ResultsFileError, match="'twice' has more than one baseline: test_a, test_b"):
        load_benchmarks(path).ratios()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not pytest-benchmark JSON"),
        ('{"benchmarks": [{"name": "test_x"}]}', "not pytest-benchmark JSON.*KeyError"),
        (
            '{"benchmarks": [{"name": "t", "extra_info": {"role": "boss"}, "stats": {}}]}',
            "not pytest-benchmark JSON.*role 'boss' is not one of",
        ),
    ],
)
def test_a_file_that_is_not_benchmark_json_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ResultsFileError, match=f"{re.escape(str(path))}: {message}"):
        load_benchmarks(path)


def test_comparison_flags_a_fall_beyond_tolerance_and_lists_new_and_missing_ratios(tmp_path: Path) -> None:
    path = benchmark_json(
        tmp_path / "b.json",
        ("kept", "test_s", 1.0, {"role": "subject"}), ("kept", "test_b", 1.0, {"role": "baseline"}),
        ("fell", "test_s", 2.0, {"role": "subject"}), ("fell", "test_b", 1.0, {"role": "baseline"}),
        ("rose", "test_s", 0.5, {"role": "subject"}), ("rose", "test_b", 1.0, {"role": "baseline"}),
        ("lenient", "test_s", 2.0, {"role": "subject"}), ("lenient", "test_b", 1.0, {"role": "baseline"}),
        ("fresh", "test_s", 1.0, {"role": "subject"}), ("fresh", "test_b", 1.0, {"role": "baseline"}),
    )  # fmt: skip
    baseline = Baseline(
        {"kept :: s": 0.9, "fell :: s": 1.0, "rose :: s": 1.0, "lenient :: s": 1.0, "gone :: s": 1.0},
        tolerance=0.25, tolerances={"lenient :: s": 0.6},
    )  # fmt: skip
    status = {c.key: c.status for c in compare(load_benchmarks(path).ratios(), baseline)}
    assert status == {"kept :: s": "ok", "fell :: s": "regressed", "rose :: s": "improved", "lenient :: s": "ok",
                      "fresh :: s": "new", "gone :: s": "missing"}  # fmt: skip


def test_a_saved_baseline_keeps_the_tolerances_a_person_wrote(tmp_path: Path, real_run: Path) -> None:
    target = tmp_path / "baselines" / "ci.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"tolerance": 0.3, "tolerances": {"pair c=1 :: pair[fast-1]": 0.5}, "ratios": {}}))
    save_baseline(load_benchmarks(real_run / "benchmarks.json").ratios(), target)
    saved = load_baseline(target)
    assert (saved.tolerance, saved.tolerances) == (0.3, {"pair c=1 :: pair[fast-1]": 0.5})
    assert set(saved.ratios) == {"pair c=1 :: pair[fast-1]", "pair c=2 :: pair[fast-2]"}


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"ratios": {"a": "fast"}}', "not a baseline file"), ('{"ratios": {}, "tolerance": 2}', "between 0 and 1")],
)
def test_a_bad_baseline_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(ResultsFileError, match=f"{re.escape(str(path))}: .*{message}"):
        load_baseline(path)


def test_the_page_is_one_self_contained_file_with_results_ratios_and_figures(real_run: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"ratios": {"pair c=1 :: pair[fast-1]": 1000.0}}))  # far above: a regression
    report = build_report(real_run, baseline)
    page = write_report(report).read_text()
    assert [c.status for c in report.regressions] == ["regressed"]
    assert "1 ratio regressed beyond tolerance" in page
    assert "test_bench::test_broken" in page  # the JUnit failure, by name and message
    assert "on purpose" in page
    assert page.count("<svg") == 2  # latency distributions, throughput against concurrency
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the page must not fetch anything"


def test_an_empty_run_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ResultsFileError,
        match=r"no junit\*\.xml, benchmarks\.json, Locust \*_stats\.csv, mutation\.json, rehearsal\.json "
        r"or insight\*\.json",
    ):
        build_report(tmp_path)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "report", *args], capture_output=True, text=True)


PASSING_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="2" time="0.5">
<testcase classname="suites.a" name="test_one" time="0.2"/><testcase classname="suites.a" name="test_two" time="0.3"/>
</testsuite></testsuites>
"""
LOCUST_COLUMNS = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
LOCUST_ROW = "{type},{name},120,0,4,5,1,40,0,6.0,0.0,4,5,6,7,9,{p95},20,30,40,40,40"


def write_locust(run_dir: Path, p95_ms: float, limit_ms: float) -> None:
    """What the locustfile leaves beside its CSV: the stats and the SLO verdict."""
    (run_dir / "locust").mkdir()
    rows = [
        LOCUST_ROW.format(type=t, name=n, p95=p95_ms) for t, n in [("pg", "record enhancement"), ("", "Aggregated")]
    ]
    (run_dir / "locust" / "bp_stats.csv").write_text("\n".join([LOCUST_COLUMNS, *rows]) + "\n")
    met = p95_ms <= limit_ms
    breach = f"p95 of pg 'record enhancement' is {p95_ms:g} ms, over its SLO of {limit_ms:g} ms"
    verdict = {"objectives": [{"type": "pg", "name": "record enhancement", "p95_limit_ms": limit_ms,
                               "p95_ms": p95_ms, "met": met}],
               "failure_ratio": 0.0, "max_failure_ratio": 0.01, "breaches": [] if met else [breach]}  # fmt: skip
    (run_dir / "locust" / "bp_slo.json").write_text(json.dumps(verdict))


@pytest.fixture
def green_run(real_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A run that passes the gate: the real benchmark results, passing tests, SLOs met, and a
    baseline of its own ratios. Returns the run directory and the baseline."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "benchmarks.json").write_text((real_run / "benchmarks.json").read_text())
    (run_dir / "junit-suites.xml").write_text(PASSING_JUNIT)
    write_locust(run_dir, p95_ms=9, limit_ms=50)
    baseline = tmp_path / "baseline.json"
    save_baseline(load_benchmarks(run_dir / "benchmarks.json").ratios(), baseline)
    return run_dir, baseline


def test_check_passes_a_green_run_against_its_own_baseline(green_run: tuple[Path, Path]) -> None:
    run_dir, baseline = green_run
    result = run_cli(str(run_dir), "--baseline", str(baseline), "--check")
    assert result.returncode == 0, result.stderr
    assert "check failed" not in result.stderr


def break_run(run_dir: Path, baseline: Path, how: str, real_run: Path) -> list[str]:
    """Spoil a green run one way; return the `--baseline` arguments to use."""
    if how == "regressed":
        baseline.write_text(json.dumps({"ratios": {"pair c=1 :: pair[fast-1]": 1000.0}}))
    elif how == "failed-tests":
        (run_dir / "junit-bench.xml").write_text((real_run / "junit-bench.xml").read_text())
    elif how == "slo-breached":
        shutil.rmtree(run_dir / "locust")
        write_locust(run_dir, p95_ms=90, limit_ms=50)
    elif how == "baseline-missing":
        baseline.unlink()
    elif how == "baseline-corrupt":
        baseline.write_text('{"ratios": {"pair c=1 :: pair[fast-1]": "fast"}}')
    elif how == "no-benchmarks":
        (run_dir / "benchmarks.json").unlink()
    elif how == "no-baseline-given":
        return []
    elif how == "nothing-compared":
        baseline.write_text(json.dumps({"ratios": {"another group :: another subject": 1.0}}))
    return ["--baseline", str(baseline)]


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("regressed", r"regressed: pair c=1 :: pair\[fast-1\]: [\d.]+ against a baseline of 1,000 \(-\d+%, toler"),
        ("failed-tests", r"junit-bench\.xml: 1 failed, 0 errors of \d+: test_bench::test_broken"),
        ("slo-breached", r"SLO breached: bp: p95 of pg 'record enhancement' is 90 ms, over its SLO of 50 ms"),
        ("baseline-missing", r"baseline\.json: no such baseline file"),
        ("baseline-corrupt", r"baseline\.json: not a baseline file \(ValueError"),
        ("no-benchmarks", r"run: no benchmark results \(benchmarks\.json\) to check"),
        ("no-baseline-given", r"no baseline to check the ratios against: pass --baseline"),
        ("nothing-compared", r"baseline\.json: holds none of this run's ratios, so none was checked"),
    ],
)  # fmt: skip
def test_check_fails_the_gate_and_says_why(green_run: tuple[Path, Path], real_run: Path, how: str, reason: str) -> None:
    run_dir, baseline = green_run
    arguments = break_run(run_dir, baseline, how, real_run)
    result = run_cli(str(run_dir), *arguments, "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("check failed: ")]
    assert len(failed) == 1, result.stderr
    assert re.search(reason, failed[0]), failed[0]
    assert "Traceback" not in result.stderr
    assert (run_dir / "index.html").exists()  # the page is rendered all the same


def test_check_names_every_reason_at_once(green_run: tuple[Path, Path], real_run: Path) -> None:
    run_dir, baseline = green_run
    for how in ("failed-tests", "slo-breached", "no-benchmarks", "baseline-missing"):
        break_run(run_dir, baseline, how, real_run)
    result = run_cli(str(run_dir), "--baseline", str(baseline), "--check")
    assert result.returncode == 1
    failed = [line.removeprefix("check failed: ") for line in result.stderr.splitlines()]
    assert [line.split(":")[0] for line in failed] == ["junit-bench.xml", "SLO breached", str(run_dir), str(baseline)]
    assert run_cli(str(run_dir), "--baseline", str(baseline)).returncode == 0  # without --check it only renders


def test_without_check_an_unreadable_baseline_is_a_warning_and_the_page_says_so(green_run: tuple[Path, Path]) -> None:
    run_dir, baseline = green_run
    baseline.write_text("{not json")
    result = run_cli(str(run_dir), "--baseline", str(baseline))
    assert result.returncode == 0, result.stderr
    assert f"warning: {baseline}: not a baseline file" in result.stderr
    assert "Baseline not used" in (run_dir / "index.html").read_text()
