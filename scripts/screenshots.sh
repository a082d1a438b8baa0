#!/usr/bin/env bash
# The README's pictures of what `harness report` shows of the database (docs/screenshots/), taken in
# a headless Chromium from real runs: scripts/bench.sh's (its Locust run, its benchmark suite) and a
# suite run.
#   scripts/screenshots.sh [BENCH_RUN] [SUITE_RUN]
# BENCH_RUN: a run directory of scripts/bench.sh (default reports/local: `scripts/bench.sh local --quick`).
# SUITE_RUN: a suite run's directory (default reports/suite), made here when absent by running the CRUD
# and Redis data-layer suites with --junitxml (their insight-suite.json beside it).
# Installs what it needs: Debian's chromium, and the screenshots extra (playwright) into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:-reports/local} suite=${2:-reports/suite}
bin=.venv/bin out=docs/screenshots

if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
	as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
fi
$bin/python -c "import playwright" 2>/dev/null || $bin/pip install -q -e '.[screenshots]'

locust=locust/insight-betterprompts.json # where bench.sh's Locust run writes its capture
if [ ! -f "$bench/$locust" ] || [ ! -f "$bench/index.html" ]; then
	echo "screenshots.sh: $bench has no $locust or index.html: run scripts/bench.sh ${bench#reports/} --quick first" >&2
	exit 2
fi
if [ ! -f "$suite/insight-suite.json" ]; then
	mkdir -p "$suite"
	$bin/pytest -p no:cacheprovider -n 2 -q suites/betterprompts/crud suites/betterprompts/data_redis \
		--junitxml="$suite/junit-suite.xml" >/dev/null
fi
# both pages rendered by this checkout's code, the bench's as scripts/bench.sh --quick renders it
$bin/harness report "$bench" --baseline reports/baselines/quick.json --insight-baseline reports/baselines/insight-quick \
	>/dev/null 2>&1 || true # a regressed ratio fails the report's exit, not its page
$bin/harness report "$suite" >/dev/null

shoot() { $bin/python -m harness.report.screenshots "$@"; }
shoot "$bench/index.html" "section[data-source=\"$locust\"] [data-part=statements]" $out/locust-statements.png
shoot "$bench/index.html" "section[data-source=\"$locust\"] [data-part=redis]" $out/locust-redis.png --open-plans 0
shoot "$suite/index.html" 'section[data-source="insight-suite.json"] [data-part=statements]' $out/suite-statements.png
# the benchmark suite's capture: its seeded worlds are large enough to be scanned sequentially
shoot "$bench/index.html" 'section[data-source="insight-benchmarks.json"] [data-part=seq-scans]' \
	$out/benchmarks-seq-scans.png --open-plans 0
shoot "$suite/index.html" 'section[data-source="insight-suite.json"] [data-part=unused-indexes]' \
	$out/suite-unused-indexes.png --open-plans 0
