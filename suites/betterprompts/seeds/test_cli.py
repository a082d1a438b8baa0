"""`harness seed` and `harness hash-password`: thin commands over betterprompts_db.seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from betterprompts_db.seed import verify_password
from harness.cli import app
from harness.pytest_plugin import Database

runner = CliRunner()


def test_hash_password_prints_a_bcrypt_hash_of_the_given_cost_that_verifies() -> None:
    result = runner.invoke(app, ["hash-password", "correct horse", "--cost", "5"])
    assert result.exit_code == 0, result.output
    hashed = result.stdout.strip()
    assert hashed.startswith("$2b$05$")
    assert verify_password("correct horse", hashed)


def test_hash_password_prompts_for_the_password_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_BCRYPT_COST", "4")
    result = runner.invoke(app, ["hash-password"], input="from stdin\n")
    assert result.exit_code == 0, result.output
    hashed = result.stdout.strip().splitlines()[-1].removeprefix("Password: ")
    assert hashed.startswith("$2b$04$")
    assert verify_password("from stdin", hashed)


def test_hash_password_refuses_a_cost_bcrypt_does_not_accept() -> None:
    result = runner.invoke(app, ["hash-password", "x", "--cost", "3"])
    assert result.exit_code == 2  # a usage error
    assert "bcrypt cost 3 is outside 4..31" in result.output


def test_seed_loads_a_profile_and_a_rerun_inserts_nothing(
    fresh_database: Database, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_BCRYPT_COST", "4")
    command = ["seed", "--profile", "minimal", "--dsn", fresh_database.dsn, "--seeds", str(seeds_dir)]
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    assert "minimal x1: " in first.stdout
    assert " 0 rows inserted" not in first.stdout
    again = runner.invoke(app, [*command, "--scale", "1"])
    assert again.exit_code == 0, again.output
    assert "minimal x1: 0 rows inserted" in again.stdout


def test_seed_names_an_unknown_profile(fresh_database: Database, seeds_dir: Path) -> None:
    result = runner.invoke(app, ["seed", "--profile", "nope", "--dsn", fresh_database.dsn, "--seeds", str(seeds_dir)])
    assert result.exit_code == 1
    assert "no profile 'nope'" in result.output
