#!/usr/bin/env bash
# The engine without its domain (issue 13): a copy of this repository with no BetterPrompts in it
# (no plugins/betterprompts, no suites/betterprompts, and no harness/ source either, so the tests
# import what was installed), a fresh virtualenv holding only the harness-db wheel with the extras
# its suites use and the test tools, and the engine's own suites run there. Exits non-zero on any
# failure; removes everything it made. Extra arguments go to pytest.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
EXTRAS=docker,lint,report,shard
TEST_TOOLS=("pytest-xdist>=3.5" "pytest-timeout>=2.3" "pytest-benchmark>=4")

label=engine-alone gc_dir=.
# shellcheck source=scripts/sandbox.sh
source "$repo/scripts/sandbox.sh"

rm -rf "$work/src/plugins/betterprompts" "$work/src/betterprompts_db" "$work/src/suites/betterprompts" "$work/src/harness"
# The shipped Redis ACL (which the shipped redis.conf loads) has passwords only the plug-in knows
# (harness.provision.redis_access): the engine alone runs Redis as a project without them does.
rm "$work/src/schema/redis/users.acl" "$work/src/schema/redis/redis.conf"
# and BetterPrompts' own settings (the [tool.harness] tables: its database, up seed, Redis admin,
# the folders of its suites) go with it: the engine alone runs on its defaults
sed -i '/^\[tool\.harness[].]/,/^$/d' "$work/src/pyproject.toml"
# a repository of its own, committed: `harness mutate --changed` diffs against its HEAD
git -C "$work/src" init -q
git -C "$work/src" add -A
git -C "$work/src" -c user.name=engine-alone -c user.email=engine-alone@localhost commit -qm "the engine alone"

echo "engine-alone: installing $(basename "$wheel")[$EXTRAS] and ${TEST_TOOLS[*]}"
"$work/venv/bin/pip" install -q "$wheel[$EXTRAS]" "${TEST_TOOLS[@]}"
cd "$work/src"
"$work/venv/bin/python" - <<'CHECK'
import importlib.util, sys
import harness
if not harness.__file__.startswith(sys.prefix):
    sys.exit(f"engine-alone: harness was imported from {harness.__file__}, not from the wheel")
if importlib.util.find_spec("betterprompts_db") is not None:
    sys.exit("engine-alone: betterprompts_db is importable: the domain is not gone")
CHECK

echo "engine-alone: pytest -n auto suites/engine"
"$work/venv/bin/pytest" -n auto suites/engine "$@"
