"""Bad input to the commands BetterPrompts adds to `harness` (`seed`, `hash-password`): one line
naming it and exit status 2, as suites/engine/bad_input/test_command_line.py proves for the
engine's own commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from suites.engine.bad_input.test_command_line import USAGE, Case, assert_one_clear_line, closed_dsn, harness

CORPUS = {
    "password-over-72-bytes": Case(("hash-password", "\u00e9" * 40), USAGE, ("80 bytes", "at most 72")),
    "seed-scale-huge": Case(("seed", "--scale", "1e9", "--dsn", "{refused}"), USAGE, ("scale 1e+09", "<= 100")),
    "seed-scale-zero": Case(("seed", "--scale", "0", "--dsn", "{refused}"), USAGE, ("scale 0 ",)),
}


@pytest.mark.parametrize("case", CORPUS.values(), ids=CORPUS.keys())
def test_bad_input_is_one_line_naming_it_and_the_exit_status_says_whose_fault(case: Case, tmp_path: Path) -> None:
    args = [arg.format(refused=closed_dsn()) for arg in case.args]
    assert_one_clear_line(harness(args, {"HARNESS_STATE_DIR": str(tmp_path / "state")}), case.status, *case.names)
