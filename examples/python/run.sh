#!/usr/bin/env bash
# Adopt the harness as another repository does: build the engine's wheel (harness-db, from a clean
# copy: what git tracks or would track, so no build/ leftovers slip in), install it alone, not
# editable and without BetterPrompts or any extra, with the example's own package into a fresh
# virtualenv, and run the example's tests there with a private state directory. Only examples/python/pyproject.toml [tool.harness] configures them.
# Exits non-zero on any failure; removes everything it made.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# configured by the example's pyproject.toml alone: nothing of the caller's harness settings
label=example gc_dir=examples/python
# shellcheck source=scripts/sandbox.sh
source "$repo/scripts/sandbox.sh"

echo "example: installing $(basename "$wheel") and shop-db into a fresh virtualenv"
"$work/venv/bin/pip" install -q "$wheel" "$work/src/examples/python"
installed=$("$work/venv/bin/python" -I -c 'import harness; print(harness.__file__)')
case $installed in
"$work/venv/"*) ;;
*) echo "example: harness was imported from $installed, not from the wheel" >&2; exit 1 ;;
esac
if "$work/venv/bin/python" -I -c 'import betterprompts_db' 2>/dev/null; then
	echo "example: betterprompts_db is installed: the engine's wheel must not bring the domain" >&2
	exit 1
fi

echo "example: pytest -n 2 in examples/python"
cd "$here"
"$work/venv/bin/pytest" -n 2
