"""`harness mutate`: every mutant still applies to the tree, and a run tells killed from survived."""

from __future__ import annotations

from pathlib import Path

import pytest

from betterprompts_db.mutants import MUTANTS
from harness.errors import ConfigurationError
from harness.mutate import Mutant, mutate
from harness.mutate.runner import apply, copy_project

ROOT = Path(__file__).resolve().parents[3]


def test_every_mutant_applies_exactly_once_to_the_current_tree() -> None:
    for m in MUTANTS:
        text = (ROOT / m.path).read_text()
        assert text.count(m.find) == 1, f"{m.id}: target text found {text.count(m.find)} times in {m.path}"
        assert m.find != m.replace
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)


def test_a_mutant_whose_target_is_gone_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f.sql").write_text("SELECT 1;")
    with pytest.raises(ConfigurationError, match="holds its target text 0 times"):
        apply(Mutant("m", "k", "d", "f.sql", "SELECT 2;", ""), tmp_path)


def test_the_copy_holds_what_a_clone_would(tmp_path: Path) -> None:
    copy_project(ROOT, tmp_path)
    assert (tmp_path / "schema/postgres/migrations/0001_extensions_and_schemas.up.sql").is_file()
    assert not (tmp_path / ".venv").exists()


@pytest.mark.timeout(600)  # two suite runs in subprocesses: 143 s on a machine at load 10
def test_a_run_tells_a_caught_mutant_from_a_survivor(harness_settings: object) -> None:
    by_id = {m.id: m for m in MUTANTS}
    # one focused test file: it catches the weakened CHECK but says nothing about the HNSW index
    args = ["suites/betterprompts/schema/test_constraints.py", "-k", "out_of_range"]
    outcomes = mutate(ROOT, [by_id["weaken-tier-check"], by_id["drop-hnsw-index"]], args, timeout=300)
    verdicts = {o.name: o.killed for o in outcomes}
    assert verdicts == {"weaken-tier-check": True, "drop-hnsw-index": False}
    assert "tier" in next(o.evidence for o in outcomes if o.killed)
