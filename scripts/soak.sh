#!/usr/bin/env bash
# The whole suite, N rounds in a row, on a saturated machine: each round two full runs at once
# (`pytest -n auto`, each with a HARNESS_STATE_DIR of its own) while one busy process per core
# hogs the CPU. A red under this load must be a real failure, not the machine's speed.
#   [N=5] scripts/soak.sh [embedded|docker|external|auto] [PYTEST ARGS...]
# docker runs on the local images (`make images`). Each run's JUnit XML and output go to
# reports/soak/; the last line sums the runs up, and the exit status is 1 when any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
backend=${1:-embedded}
[ $# -gt 0 ] && shift
rounds=${N:-5}
case $backend in
embedded | external | auto) backend_args=(--backend "$backend") ;;
docker) backend_args=(--backend docker --pg-image harness-local/pgvector:pg18 --redis-image harness-local/redis:7) ;;
*) echo "soak.sh: unknown backend $backend (embedded, docker, external, auto)" >&2; exit 2 ;;
esac
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "soak.sh: N must be a positive number, got $rounds" >&2; exit 2; }
out=reports/soak
mkdir -p "$out"
# each run's state directory beside the others (not nested: as root, the servers run as nobody,
# who must be able to reach it)
shm=/dev/shm
[ -d $shm ] || shm=${TMPDIR:-/tmp}
state=$shm/harness-soak-$$
hogs=() runs=()

stop() {
	trap - EXIT INT TERM
	[ ${#runs[@]} -eq 0 ] || kill -TERM "${runs[@]}" 2>/dev/null  # the plugin tears down on SIGTERM
	[ ${#runs[@]} -eq 0 ] || wait "${runs[@]}" 2>/dev/null
	[ ${#hogs[@]} -eq 0 ] || kill "${hogs[@]}" 2>/dev/null
	for dir in "$state"-*/; do
		[ -d "$dir" ] || continue
		HARNESS_STATE_DIR=$dir .venv/bin/harness gc --all >/dev/null 2>&1
		rm -rf "$dir"
	done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$(nproc)"); do
	(while :; do :; done) &
	hogs+=($!)
done
echo "soak: ${#hogs[@]} busy processes hog the CPU; $rounds rounds of 2 concurrent runs, $backend backend"

passed=0 failed=0
for round in $(seq "$rounds"); do
	runs=() names=()
	for run in a b; do
		name=round$round-$run
		HARNESS_STATE_DIR=$state-$name .venv/bin/pytest -n auto "${backend_args[@]}" "$@" \
			--junitxml="$out/$name.xml" -o junit_suite_name="$name" >"$out/$name.log" 2>&1 &
		runs+=($!) names+=("$name")
	done
	for i in "${!runs[@]}"; do
		wait "${runs[$i]}"
		code=$?
		if [ $code = 0 ]; then
			passed=$((passed + 1)) verdict=passed
		else
			failed=$((failed + 1)) verdict="FAILED (exit $code)"
		fi
		echo "${names[$i]}: $verdict: $(tail -n 1 "$out/${names[$i]}.log")"
	done
	runs=()
done
echo "soak: $backend backend, $rounds rounds x 2 concurrent runs under a CPU hog: $passed passed, $failed failed runs"
[ "$failed" = 0 ]
