#!/usr/bin/env bash
# Everything `make up` and `make test` need on a fresh Debian/Ubuntu machine: redis-server, and Go
# with lib/pq (for examples/go), from the OS packages; a virtualenv in .venv with the engine
# (harness-db, its dev extras) and the BetterPrompts plug-in (plugins/betterprompts), both
# editable. Idempotent; quiet when done.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
# examples/go: Go and its PostgreSQL driver from the OS packages (no module proxy needed)
command -v go >/dev/null || missing+=(golang-go)
[ -d /usr/share/gocode/src/github.com/lib/pq ] || missing+=(golang-github-lib-pq-dev)
if [ "${1:-}" = --docker ]; then
	command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "bootstrap: installing ${missing[*]} from the OS packages"
	# Another bootstrap (a second clone, CI beside a developer) may hold dpkg's lock: wait for it.
	apt=(apt-get -o DPkg::Lock::Timeout=600)
	as_root "${apt[@]}" update -qq
	# no daemon: the harness starts its own redis-server processes
	as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp=$VENV/.installed-$(cat pyproject.toml plugins/betterprompts/pyproject.toml | sha256sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
	echo "bootstrap: installing harness-db[dev] and betterprompts-db into $VENV"
	[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
	"$VENV/bin/pip" install -q --upgrade pip
	# the distribution was named `harness` before: its stale metadata here would register the
	# plug-in a second time for anything run from the checkout
	"$VENV/bin/pip" uninstall -q -y harness 2>/dev/null || true
	rm -rf harness.egg-info
	"$VENV/bin/pip" install -q -e '.[dev]' -e plugins/betterprompts
	rm -f "$VENV"/.installed-*
	touch "$stamp"
fi
