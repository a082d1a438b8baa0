"""Gather a run directory's results, or several shards' merged, into a Report and render it to
`index.html`."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigurationError, ResultsFileError
from harness.extras import missing_extra

try:
    import jinja2

    from harness.report import plots  # matplotlib
except ModuleNotFoundError as exc:
    raise missing_extra("report", "harness report", exc.name) from None
from harness.report.baseline import Comparison, compare, load_baseline
from harness.report.benchmarks import BenchmarkRun, load_benchmarks, merge_benchmark_runs
from harness.report.insight import Capture, load_insight, plan_tree
from harness.report.junit import SuiteResults, load_junit, merge_suites
from harness.report.locust import LocustRun, load_locust
from harness.report.mutation import MUTATION_FILE, MutationRun, load_mutation
from harness.report.rehearsal import REHEARSAL_FILE, RehearsalRun, load_rehearsal

BENCHMARK_FILE = "benchmarks.json"
STATUS_ORDER = ["regressed", "improved", "ok", "new", "missing"]  # what a reviewer must see first
CHECKED = {"regressed", "improved", "ok"}  # statuses of a ratio both the run and the baseline hold
NAMED_FAILURES = 3  # failed tests named per JUnit file in a check's reason


@dataclass
class Report:
    run_dir: Path  # where the page goes
    sources: list[Path] = field(default_factory=list)  # the run directories read: several for shards merged
    suites: list[SuiteResults] = field(default_factory=list)
    benchmarks: BenchmarkRun | None = None
    comparisons: list[Comparison] = field(default_factory=list)
    baseline_name: str | None = None
    baseline_problem: str | None = None  # why the named baseline could not be read
    locust: list[LocustRun] = field(default_factory=list)
    mutation: MutationRun | None = None
    rehearsal: RehearsalRun | None = None
    insight: list[Capture] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)

    @property
    def regressions(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.status == "regressed"]

    @property
    def slo_breaches(self) -> list[str]:
        return [f"{run.prefix}: {b}" for run in self.locust if run.slo for b in run.slo.breaches]

    @property
    def failed_tests(self) -> int:
        return sum(s.failed + s.errors for s in self.suites)

    def check_failures(self) -> list[str]:
        """Why this run must not pass CI's gate, one line each; empty when it may. Failed tests,
        breached SLOs and regressed ratios fail it, and so does a run that checked nothing: no
        benchmark results, or no readable baseline that shares a ratio with them. So does a
        migration rehearsal that failed (a migration blocked the load too long, or did not apply)."""
        reasons = []
        for suite in self.suites:
            if suite.failed + suite.errors:
                names = [f.test for f in suite.failures]
                named = ", ".join(names[:NAMED_FAILURES]) + (", …" if len(names) > NAMED_FAILURES else "")
                reasons.append(
                    f"{suite.source}: {suite.failed} failed, {suite.errors} errors of {suite.tests}: {named}"
                )
        reasons += [f"SLO breached: {breach}" for breach in self.slo_breaches]
        reasons += [f"migration rehearsal: {reason}" for reason in self.rehearsal.failures] if self.rehearsal else []
        reasons += [f"{c.source}: regressed: {r.describe()}" for c in self.insight for r in c.regressions]
        for c in self.regressions:
            within = f" (95 % interval {interval(c.interval)})" if c.interval else ""
            reasons.append(f"regressed: {c.key}: {ratio(c.value or 0)}{within} against a baseline of "
                           f"{ratio(c.baseline or 0)} ({c.change or 0:+.0%}, tolerance {c.tolerance:.0%})")  # fmt: skip
        if self.benchmarks is None or not self.benchmarks.benchmarks:
            reasons.append(f"{self.run_dir}: no benchmark results ({BENCHMARK_FILE}) to check")
        if self.baseline_problem is not None:
            reasons.append(self.baseline_problem)
        elif self.baseline_name is None:
            reasons.append("no baseline to check the ratios against: pass --baseline")
        elif self.benchmarks and self.benchmarks.benchmarks and not any(c.status in CHECKED for c in self.comparisons):
            reasons.append(f"{self.baseline_name}: holds none of this run's ratios, so none was checked")
        return reasons


def build_report(
    run_dir: Path, baseline: Path | None = None, sources: Sequence[Path] = (), insight_baseline: Path | None = None
) -> Report:
    """Everything the run directories `sources` (default: `run_dir` alone) hold: `junit*.xml`,
    `benchmarks.json`, `**/*_stats.csv` from Locust, `mutation.json`, `rehearsal.json`,
    `**/insight*.json` (compared with `insight_baseline`'s). Shards merge: same-named JUnit files
    become one suite, benchmarks one run; Locust runs and insight captures are listed side by side."""
    report = Report(run_dir, list(sources) or [run_dir])
    for source in report.sources:
        if not source.is_dir():
            raise ConfigurationError(f"{source}: no such run directory")
    report.suites = _suites(report.sources)
    runs = [load_benchmarks(d / BENCHMARK_FILE) for d in report.sources if (d / BENCHMARK_FILE).exists()]
    report.benchmarks = merge_benchmark_runs(runs) if runs else None
    if baseline is not None:
        report.baseline_name = str(baseline)
        try:
            known = load_baseline(baseline)
        except ResultsFileError as exc:  # the page is still worth rendering; `--check` fails on it
            report.baseline_problem = str(exc)
        else:
            found = compare(report.benchmarks.ratios(), known) if report.benchmarks else []
            report.comparisons = sorted(found, key=lambda c: STATUS_ORDER.index(c.status))
    report.locust = [load_locust(p) for d in report.sources for p in sorted(d.rglob("*_stats.csv"))]
    if mutation := _single(report.sources, MUTATION_FILE):
        report.mutation = load_mutation(mutation)
    if rehearsal := _single(report.sources, REHEARSAL_FILE):
        report.rehearsal = load_rehearsal(rehearsal)
    report.insight = [c for d in report.sources for c in load_insight(d, insight_baseline)]
    if not any((report.suites, report.benchmarks, report.locust, report.mutation, report.rehearsal, report.insight)):
        read = ", ".join(map(str, report.sources))
        raise ResultsFileError(
            f"{read}: no junit*.xml, {BENCHMARK_FILE}, Locust *_stats.csv, {MUTATION_FILE}, {REHEARSAL_FILE} "
            "or insight*.json to report"
        )
    report.figures = _figures(report)
    return report


def _suites(sources: Sequence[Path]) -> list[SuiteResults]:
    """One SuiteResults per JUnit file name, merged over the shards that hold it."""
    by_name: dict[str, list[SuiteResults]] = {}
    for source in sources:
        for path in sorted(source.glob("junit*.xml")):
            by_name.setdefault(path.name, []).append(load_junit(path))
    return [merge_suites(by_name[name]) for name in sorted(by_name)]


def _single(sources: Sequence[Path], name: str) -> Path | None:
    """The one `name` among the run directories: a whole-run result that shards cannot split."""
    found = [d / name for d in sources if (d / name).exists()]
    if len(found) > 1:
        raise ResultsFileError(f"{name} is in {len(found)} run directories ({', '.join(map(str, found))}): "
                               "report them one at a time")  # fmt: skip
    return found[0] if found else None


def _figures(report: Report) -> dict[str, str]:
    drawn: dict[str, str | None] = {}
    if report.benchmarks:
        drawn["latency"] = plots.latency_distributions(report.benchmarks)
        drawn["concurrency"] = plots.throughput_by_concurrency(report.benchmarks)
        drawn["recall"] = plots.recall_against_latency(report.benchmarks)
    for run in report.locust:
        drawn[f"locust:{run.prefix}"] = plots.locust_over_time(run)
    return {name: figure for name, figure in drawn.items() if figure}


def write_report(report: Report) -> Path:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("harness.report", "."), autoescape=True)
    environment.filters["duration"] = duration
    environment.filters["ratio"] = ratio
    environment.filters["interval"] = interval
    environment.filters["plan_tree"] = plan_tree
    ratios = {ratio.key: ratio for ratio in report.benchmarks.ratios()} if report.benchmarks else {}
    page = environment.get_template("page.html.j2").render(r=report, ratios=ratios, python=platform.python_version())
    report.run_dir.mkdir(parents=True, exist_ok=True)  # a merged page's own directory
    target = report.run_dir / "index.html"
    target.write_text(page)
    return target


def duration(seconds: float) -> str:
    """Seconds in the unit that reads best: 13.2 µs, 4.1 ms, 54.2 s."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def ratio(value: float) -> str:
    """Three significant figures without exponents: 0.913, 57.1, 1,024."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def interval(bounds: tuple[float, float] | None) -> str:
    """A paired ratio's interval as "0.881 to 0.952"; empty for a ratio measured without one."""
    return "" if bounds is None else f"{ratio(bounds[0])} to {ratio(bounds[1])}"
