"""The Python mutants' score: mutmut's own result files read back, listed equivalents subtracted
only while they still are the recorded mutation, and the arithmetic per file and per suite folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mutmut.configuration import reset_config
from mutmut.mutation.data import MutantLineSpans
from mutmut.mutation.file_mutation import mutate_file_contents

from betterprompts_db.plugin import plugin
from harness.cli import show_mutation
from harness.config import Settings
from harness.errors import ConfigurationError, HarnessError
from harness.mutate.python import (
    Equivalent,
    Tally,
    function_of,
    generated_names,
    load_equivalents,
    read_results,
    run_python_mutants,
    sampled,
    suite_folder,
    tally,
    wilson_interval,
)
from harness.mutate.results import RunRecord
from harness.mutate.sources import MutationRequest

SOURCE = """\
def bump(x):
    return x + 1


class Meter:
    def reading(self, raw):
        return raw * 1000
"""
BUMP, READING = "pkg.calc.x_bump", "pkg.calc.xǁMeterǁreading"
# what mutmut makes of SOURCE: bump_1 `x - 1`, bump_2 `x + 2`, reading_1 `raw / 1000`, reading_2 `raw * 1001`
VERDICTS = {f"{BUMP}__mutmut_1": 1, f"{BUMP}__mutmut_2": 0, f"{READING}__mutmut_1": 0, f"{READING}__mutmut_2": 36}
TESTS = {
    BUMP: ["suites/crud/test_a.py::test_bumps", "suites/data_redis/test_b.py::test_reads[x]"],
    READING: ["suites/data_redis/test_b.py::test_reads[x]"],
}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose `mutants/` holds what `mutmut run` leaves: the mutated file, its line-span
    index, its .meta verdicts and the stats of which tests call which function."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/calc.py").write_text(SOURCE)
    (tmp_path / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["pkg"]\n')
    monkeypatch.chdir(tmp_path)
    reset_config()  # mutmut keeps the first configuration it read, process-wide
    try:
        mutated = mutate_file_contents("pkg/calc.py", SOURCE)
        (tmp_path / "mutants/pkg").mkdir(parents=True)
        (tmp_path / "mutants/pkg/calc.py").write_text(mutated.code)
        MutantLineSpans(path="pkg/calc.py", span_by_function_name=mutated.line_span_by_function_name).save()
    finally:
        reset_config()
    assert sorted(f"pkg.calc.{name}" for name in mutated.mutant_names) == sorted(VERDICTS)
    meta = {"exit_code_by_key": VERDICTS, "hash_by_function_name": {}, "type_check_error_by_key": {},
            "durations_by_key": {}, "estimated_durations_by_key": {}}  # fmt: skip
    (tmp_path / "mutants/pkg/calc.py.meta").write_text(json.dumps(meta))
    (tmp_path / "mutants/mutmut-stats.json").write_text(json.dumps({"tests_by_mangled_function_name": TESTS}))
    return tmp_path


def test_each_mutant_comes_back_with_mutmuts_verdict_its_file_and_the_tests_that_call_it(root: Path) -> None:
    mutants = {m.name: m for m in read_results(root)}
    assert {name: m.status for name, m in mutants.items()} == {
        f"{BUMP}__mutmut_1": "killed", f"{BUMP}__mutmut_2": "survived",
        f"{READING}__mutmut_1": "survived", f"{READING}__mutmut_2": "timeout",
    }  # fmt: skip
    assert {m.path for m in mutants.values()} == {"pkg/calc.py"}
    assert mutants[f"{READING}__mutmut_1"].folders == {"suites/data_redis"}
    assert mutants[f"{BUMP}__mutmut_2"].folders == {"suites/crud", "suites/data_redis"}


def test_a_timeout_and_a_survivor_count_against_the_score_and_survivors_show_line_and_change(root: Path) -> None:
    score = tally(root, read_results(root), {})
    assert (score.total.killed, score.total.survived, score.total.timeout, score.total.judged) == (1, 2, 1, 4)
    assert score.total.score == 0.25
    assert score.by_file["pkg/calc.py"].score == 0.25
    assert score.by_folder["suites/crud"].as_dict() == {
        "killed": 1, "survived": 1, "timeout": 0, "no_tests": 0, "equivalent": 0, "not_checked": 0, "other": 0,
        "judged": 2, "score": 0.5,
    }  # fmt: skip
    assert (score.by_folder["suites/data_redis"].judged, score.by_folder["suites/data_redis"].killed) == (4, 1)
    survivors = {m.name: (m.line, m.change) for m in score.survivors}
    assert survivors == {
        f"{BUMP}__mutmut_2": (2, "-    return x + 1\n+    return x + 2"),
        f"{READING}__mutmut_1": (7, "-    return raw * 1000\n+    return raw / 1000"),
        f"{READING}__mutmut_2": (7, "-    return raw * 1000\n+    return raw * 1001"),
    }


def test_a_listed_equivalent_leaves_the_score_and_is_reported_with_its_reason_recorded(root: Path) -> None:
    listed = {f"{BUMP}__mutmut_2": Equivalent("no caller tells 1 from 2", "-    return x + 1\n+    return x + 2")}
    score = tally(root, read_results(root), listed)
    assert (score.total.killed, score.total.judged, score.total.equivalent) == (1, 3, 1)
    assert score.total.score == pytest.approx(1 / 3)
    assert [m.name for m in score.equivalents] == [f"{BUMP}__mutmut_2"]
    assert f"{BUMP}__mutmut_2" not in {m.name for m in score.survivors}
    assert score.stale_equivalents == {}


def test_an_equivalent_whose_mutation_changed_was_killed_or_is_gone_is_stale_and_still_counts(root: Path) -> None:
    listed = {
        f"{READING}__mutmut_1": Equivalent("was another mutation", "-    return raw * 1000\n+    return raw - 1000"),
        f"{BUMP}__mutmut_1": Equivalent("a test kills it", "-    return x + 1\n+    return x - 1"),
        f"{BUMP}__mutmut_9": Equivalent("no longer generated", "-    x\n+    y"),
    }
    score = tally(root, read_results(root), listed)
    assert score.total.equivalent == 0
    assert (score.total.killed, score.total.survived) == (1, 2)
    assert set(score.stale_equivalents) == set(listed)
    assert "now is" in score.stale_equivalents[f"{READING}__mutmut_1"]
    assert "killed" in score.stale_equivalents[f"{BUMP}__mutmut_1"]
    assert "no such mutant" in score.stale_equivalents[f"{BUMP}__mutmut_9"]


def test_the_summary_is_json_with_totals_per_file_per_folder_and_the_survivors(root: Path, tmp_path: Path) -> None:
    score = tally(root, read_results(root), {})
    score.write(tmp_path / "out/python-mutants.json")
    summary = json.loads((tmp_path / "out/python-mutants.json").read_text())
    assert summary["tool"] == "mutmut"
    assert summary["total"]["score"] == 0.25
    assert set(summary["by_folder"]) == {"suites/crud", "suites/data_redis"}
    assert {s["name"] for s in summary["survivors"]} == {n for n, code in VERDICTS.items() if code != 1}


def test_no_results_yet_is_an_error_that_says_to_run_the_mutants_first(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="run the Python mutants first"):
        read_results(tmp_path)


def test_an_equivalent_without_a_reason_is_refused(tmp_path: Path) -> None:
    listed = tmp_path / "equivalents.toml"
    listed.write_text('["pkg.calc.x_bump__mutmut_2"]\nchange = "-    return x + 1\\n+    return x + 2"\n')
    with pytest.raises(ConfigurationError, match="needs a reason"):
        load_equivalents(listed)


def test_the_committed_equivalents_each_give_a_reason_and_the_mutation_they_stand_for() -> None:
    for name, entry in load_equivalents(plugin.python_equivalents).items():
        assert "__mutmut_" in name
        assert len(entry.reason) > 20, name
        assert any(line.startswith("+") for line in entry.change.splitlines()), name


def test_names_and_scores_of_the_arithmetic_edges() -> None:
    assert suite_folder("suites/crud/test_auth.py::test_x[a/b]") == "suites/crud"
    assert function_of("m.xǁCǁf__mutmut_3") == ("C", "f")
    assert function_of("m.x_f__mutmut_12") == (None, "f")
    assert Tally().score is None
    empty = Tally()
    empty.add("no tests")
    empty.add("segfault")
    empty.add("not checked")
    assert (empty.no_tests, empty.other, empty.not_checked, empty.judged, empty.score) == (1, 1, 1, 2, 0.0)


def test_a_mutmut_run_that_fails_is_an_error_naming_its_log(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()  # nothing mutmut could find to mutate
    with pytest.raises(HarnessError, match=r"mutmut run exited 1 \(see .*mutmut-run.log\)"):
        run_python_mutants(tmp_path / "empty")
    assert "Could not figure out where the code to mutate is" in (tmp_path / "empty/mutants/mutmut-run.log").read_text()


def test_a_sample_is_chosen_by_hash_and_scored_with_its_interval(tmp_path: Path) -> None:
    """A real mutmut run on a small project: half its mutants, the same half every time."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("")
    (tmp_path / "pkg/calc.py").write_text(SOURCE)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_calc.py").write_text(
        "from pkg.calc import Meter, bump\n\n\ndef test_bump():\n    assert bump(1) == 2\n\n\n"
        "def test_reading():\n    assert Meter().reading(2) > 1000\n"
    )
    (tmp_path / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["pkg"]\n')
    score = run_python_mutants(tmp_path, sample=0.5, equivalents=tmp_path / "none.toml")
    assert score.sample is not None
    assert (score.sample["sampled"], score.sample["generated"]) == (2, 4)
    assert generated_names(tmp_path) == sorted(VERDICTS)
    assert (score.total.judged, score.total.not_checked) == (2, 2)
    assert sampled(generated_names(tmp_path), 0.5) == sampled(list(reversed(generated_names(tmp_path))), 0.5)
    low, high = score.sample["interval"]
    assert 0.0 <= low <= (score.total.score or 0.0) <= high <= 1.0
    assert wilson_interval(90, 100) == pytest.approx((0.8256, 0.9448), abs=1e-3)


def test_only_sends_each_id_to_its_own_source(tmp_path: Path) -> None:
    python = "betterprompts_db.seed.history.xǁHistoryWriterǁadd__mutmut_54"
    only = ("isolation-pasted", "check:a.b.c:drop", python, "betterprompts_db.data.redis.*")
    request = MutationRequest(tmp_path, Settings(), ("hand", "sql", "python"), only=only)
    assert request.only_of(("hand",)) == ["isolation-pasted"]
    assert request.only_of(("sql", "redis")) == ["check:a.b.c:drop"]
    assert request.only_of(("python",)) == [python, "betterprompts_db.data.redis.*"]


def test_a_test_added_since_the_last_run_judges_the_mutants_it_kills(tmp_path: Path) -> None:
    """mutmut keeps verdicts and its map of tests to functions in mutants/; a run starts without
    them, so yesterday's survivor is judged by today's test."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("")
    (tmp_path / "pkg/calc.py").write_text(SOURCE)
    (tmp_path / "tests").mkdir()
    tests = tmp_path / "tests/test_calc.py"
    tests.write_text("from pkg.calc import Meter, bump\n\n\ndef test_bump():\n    assert bump(1) == 2\n")
    (tmp_path / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["pkg"]\n')
    first = run_python_mutants(tmp_path, equivalents=tmp_path / "none.toml")
    tests.write_text(tests.read_text() + "\n\ndef test_reading():\n    assert Meter().reading(2) == 2000\n")
    second = run_python_mutants(tmp_path, equivalents=tmp_path / "none.toml")
    assert (first.total.killed, second.total.killed) == (2, 4)


def test_a_folder_whose_mutants_were_all_equivalent_or_unchecked_prints_without_a_score(
    capsys: pytest.CaptureFixture[str],
) -> None:
    python = {"total": {"killed": 2, "judged": 2, "equivalent": 3},
              "by_folder": {"suites/seeds": {"killed": 0, "judged": 0}, "suites/crud": {"killed": 2, "judged": 2}},
              "survivors": []}  # fmt: skip
    show_mutation(RunRecord("harness mutate --python --only x", "", 1.0, 1, [], python=python), [])
    printed = capsys.readouterr().out
    assert "suites/seeds" in printed
    assert "(100%)" in printed
