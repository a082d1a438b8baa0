"""squawk linting of migrations: findings name file, line and rule; the mode decides warn or fail."""

from __future__ import annotations

import pytest

from harness import migrate
from harness.errors import LintFailed
from suites.engine.migrate.histories import WriteMigrations

RISKY = "ALTER TABLE app.users ADD COLUMN age int NOT NULL;\nCREATE INDEX users_age_idx ON app.users (age);\n"


def test_squawk_reports_risky_statements_with_file_line_and_rule(write_migrations: WriteMigrations) -> None:
    directory = write_migrations({"0001_risky": (RISKY, "DROP INDEX app.users_age_idx;\n")})
    findings = migrate.lint_migrations(migrate.load_migrations(directory))
    rules = {(f.line, f.rule) for f in findings if f.path.endswith("0001_risky.up.sql")}
    assert (1, "adding-required-field") in rules
    assert (2, "require-concurrent-index-creation") in rules


def test_an_ignore_comment_justifies_an_exception(write_migrations: WriteMigrations) -> None:
    justified = "-- squawk-ignore-file\n-- the table is empty when this runs\n" + RISKY
    directory = write_migrations({"0001_risky": (justified, "-- squawk-ignore-file\nDROP INDEX app.users_age_idx;\n")})
    assert migrate.lint_migrations(migrate.load_migrations(directory)) == []


def test_fail_mode_raises_and_warn_mode_returns_the_findings(write_migrations: WriteMigrations) -> None:
    directory = write_migrations({"0001_risky": (RISKY, "DROP INDEX app.users_age_idx;\n")})
    findings = migrate.lint_migrations(migrate.load_migrations(directory))
    with pytest.raises(LintFailed, match=r"0001_risky\.up\.sql:1: adding-required-field"):
        migrate.enforce(findings, "fail")
    assert migrate.enforce(findings, "warn") == findings
    assert migrate.enforce(findings, "off") == []
