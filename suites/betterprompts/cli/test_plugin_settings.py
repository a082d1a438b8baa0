"""The plug-in's settings join the engine's: read from `[tool.harness.<plug-in>]` and the
environment as strictly as the engine's, listed by `harness settings` with their sources, and
used by the plug-in's commands. A user's repository of its own, the real `harness` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from betterprompts_db.seed import verify_password
from suites.engine.cli.project import clean_environment, one_line_error, run_harness, run_pytest, write_project

PLUGIN_TABLE = "[tool.harness.betterprompts]\nbcrypt_cost = 5\n"


def setting_rows(stdout: str) -> dict[str, tuple[str, str]]:
    return {
        cells[0]: (cells[1], cells[2])
        for line in stdout.splitlines()
        if len(cells := [cell.strip() for cell in line.split("│")[1:-1]]) == 3
    }


def test_settings_lists_the_plugins_setting_with_its_source_the_environment_over_the_file(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    write_project(plain, "")
    shown = run_harness(plain, "settings")
    assert shown.returncode == 0, shown.stderr
    assert setting_rows(shown.stdout)["betterprompts.bcrypt_cost"] == ("12", "default")

    project = tmp_path / "adopter"
    write_project(project, "", PLUGIN_TABLE)
    shown = run_harness(project, "settings")
    assert shown.returncode == 0, shown.stderr
    assert setting_rows(shown.stdout)["betterprompts.bcrypt_cost"] == ("5", "[tool.harness.betterprompts]")

    shown = run_harness(project, "settings", env=clean_environment(HARNESS_BCRYPT_COST="6"))
    assert shown.returncode == 0, shown.stderr
    assert setting_rows(shown.stdout)["betterprompts.bcrypt_cost"] == ("6", "environment HARNESS_BCRYPT_COST")


def test_hash_password_hashes_at_the_cost_of_the_project_file(tmp_path: Path) -> None:
    write_project(tmp_path, "", PLUGIN_TABLE)
    result = run_harness(tmp_path, "hash-password", "correct horse")
    assert result.returncode == 0, result.stderr
    hashed = result.stdout.strip()
    assert hashed.startswith("$2b$05$")
    assert verify_password("correct horse", hashed)


def test_an_unknown_key_of_the_plugins_table_is_one_line_naming_the_file_and_the_key(tmp_path: Path) -> None:
    path = write_project(tmp_path, "", "[tool.harness.betterprompts]\nbcrypt_costs = 4\n")
    line = (
        f"{path}: [tool.harness.betterprompts] has no setting 'bcrypt_costs' (did you mean 'bcrypt_cost'?); "
        'valid keys: `harness settings --markdown` lists them (README, "Settings")'
    )
    for command in (("settings",), ("hash-password", "x", "--cost", "4")):
        result = run_harness(tmp_path, *command)
        assert result.returncode == 2, result.stdout
        assert one_line_error(result) == f"error: {line}"
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_any.py").write_text("def test_any(fresh_database):\n    pass\n")
    session = run_pytest(tmp_path, "tests")
    output = session.stdout + session.stderr
    assert session.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "Traceback" not in output
    assert output.count(f"harness: {line}") == 1, output


def test_a_plugin_setting_out_of_bounds_is_one_line_naming_the_file_or_the_variable(tmp_path: Path) -> None:
    path = write_project(tmp_path, "", "[tool.harness.betterprompts]\nbcrypt_cost = 32\n")
    result = run_harness(tmp_path, "settings")
    assert result.returncode == 2, result.stdout
    assert one_line_error(result) == (
        f"error: {path}: [tool.harness.betterprompts] bcrypt_cost = 32: input should be less than or equal to 31"
    )
    write_project(tmp_path, "")
    result = run_harness(tmp_path, "settings", env=clean_environment(HARNESS_BCRYPT_COST="fast"))
    assert result.returncode == 2, result.stdout
    assert one_line_error(result).startswith("error: HARNESS_BCRYPT_COST='fast': input should be a valid integer")


def test_a_table_no_plugin_reads_is_one_line_naming_the_plugins_table(tmp_path: Path) -> None:
    path = write_project(tmp_path, "", "[tool.harness.betterprompt]\nbcrypt_cost = 4\n")
    result = run_harness(tmp_path, "settings")
    assert result.returncode == 2, result.stdout
    assert one_line_error(result) == (
        f"error: {path}: [tool.harness.betterprompt] is no plug-in's settings table: the betterprompts plug-in's "
        "is [tool.harness.betterprompts]"
    )
