"""`harness report`: one run's results (JUnit XML, pytest-benchmark JSON, Locust CSV, all under
`reports/<run>/`, or the directories of several shards merged) read, compared with a committed
baseline, and rendered as a self-contained `index.html` that shows a reviewer first what got slower."""

from harness.report.baseline import Baseline, Comparison, compare, load_baseline, save_baseline
from harness.report.benchmarks import Benchmark, BenchmarkRun, Ratio, load_benchmarks
from harness.report.build import BENCHMARK_FILE, Report, build_report, write_report

__all__ = [
    "BENCHMARK_FILE", "Baseline", "Benchmark", "BenchmarkRun", "Comparison", "Ratio", "Report", "build_report",
    "compare", "load_baseline", "load_benchmarks", "save_baseline", "write_report",
]  # fmt: skip
