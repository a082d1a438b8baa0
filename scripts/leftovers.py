"""Exit 1, listing them, if servers or containers of a run are still there: postgres or
redis-server processes working in the checkout or the run's state directory, containers labelled
with that state directory, or the state directory itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

root, state = sys.argv[1], sys.argv[2]
left = []
for proc in psutil.process_iter(["name", "cmdline", "cwd", "status"]):
    if proc.info["name"] not in ("postgres", "redis-server") or proc.info["status"] == psutil.STATUS_ZOMBIE:
        continue
    cmdline, cwd = " ".join(proc.info["cmdline"] or []), proc.info["cwd"] or ""
    if cmdline.startswith("postgres:"):
        continue  # a backend of a postmaster reported below
    if state in cmdline or cwd.startswith((root, state)):
        left.append(f"process {proc.pid}: {cmdline}")
containers = subprocess.run(
    ["docker", "ps", "-aq", "--filter", f"label=org.harness.state-dir={state}"], capture_output=True, text=True
).stdout.split()
left += [f"container {c}" for c in containers]
if Path(state).exists() and any(Path(state).iterdir()):
    left.append(f"state directory {state}: {sorted(p.name for p in Path(state).iterdir())}")
print("\n".join(left) if left else "nothing left behind")
sys.exit(1 if left else 0)
