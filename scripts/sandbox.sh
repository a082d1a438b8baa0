# Sourced by scripts/engine-alone.sh and examples/python/run.sh: the engine as a fresh user gets it.
# Set `repo`, `label` and `gc_dir` (relative to the copy: where `harness gc --all` runs at exit) first.
# Gives $work/src (a copy of what git tracks or would track, so no build/ leftovers slip in),
# $work/venv (a fresh virtualenv), $wheel (harness-db built from the copy, nothing else) and this
# run's own HARNESS_STATE_DIR with none of the caller's HARNESS_* settings; removes all of it at exit.
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
shm=/dev/shm
[ -d "$shm" ] || shm=$work
state=$(mktemp -d -p "$shm" "harness-$label-XXXXXX")
sandbox_cleanup() {
	if [ -x "$work/venv/bin/harness" ]; then
		(cd "$work/src/$gc_dir" && HARNESS_STATE_DIR=$state "$work/venv/bin/harness" gc --all >/dev/null) || true
	fi
	rm -rf "$work" "$state"
}
trap sandbox_cleanup EXIT

while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^HARNESS_' || true)
export HARNESS_STATE_DIR=$state

echo "$label: copying $repo"
mkdir "$work/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
	tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$work/src"

echo "$label: building the harness-db wheel"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" wheel -q --no-deps -w "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/*.whl)
