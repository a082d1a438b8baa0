"""The engine's optional parts come in extras (pyproject: lint, report, load, docker, mutate): a
command whose extra is not installed says which to install, in one line, with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The real `harness` in a process whose imports of matplotlib fail exactly as they do where the
# report extra is not installed (a fresh virtualenv per test would take a minute).
WITHOUT_MATPLOTLIB = """
import importlib.abc, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "matplotlib":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.argv = ["harness", *sys.argv[1:]]
from harness.cli import main
main()
"""


def test_report_without_the_report_extra_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "junit.xml").write_text('<testsuite name="s" tests="0"/>')
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_MATPLOTLIB, "report", str(run_dir)],
        capture_output=True, text=True, check=False, env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "error: harness report needs the report extra (matplotlib is not installed): pip install 'harness-db[report]'"
    ]
    assert not (run_dir / "index.html").exists()
