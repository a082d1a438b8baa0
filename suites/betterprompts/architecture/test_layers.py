"""The dependency rule: the engine (`harness`) never imports the domain (`betterprompts_db`). The
contract is pyproject's [tool.importlinter]; import-linter checks every import, function-level
and TYPE_CHECKING ones included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
CONTRACT = """
[tool.importlinter]
root_packages = ["engine", "domain"]

[[tool.importlinter.contracts]]
name = "The engine never imports the domain"
type = "forbidden"
source_modules = ["engine"]
forbidden_modules = ["domain"]
"""


def lint_imports(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", *args], cwd=root, capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(root), "PATH": ""},
    )  # fmt: skip


def test_the_engine_imports_nothing_of_the_domain() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_forbidden_import_fails_the_contract_naming_the_import(tmp_path: Path) -> None:
    for package in ("engine", "domain"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "domain" / "data.py").write_text("from engine import core\n")
    (tmp_path / "engine" / "core.py").write_text(
        "def run() -> None:\n    from domain import data  # late, still seen\n"
    )
    (tmp_path / "contract.toml").write_text(CONTRACT)
    result = lint_imports(tmp_path, "--config", "contract.toml")
    assert result.returncode == 1
    assert "engine.core -> domain.data (l.2)" in result.stdout, result.stdout
