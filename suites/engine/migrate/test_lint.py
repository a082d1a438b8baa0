"""squawk linting of migrations: findings name file, line and rule; the mode decides warn or fail."""

from __future__ import annotations

import pytest

from harness import migrate
from harness.errors import LintFailed
from harness.migrate.lint import plan_runs
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


TIMEOUTS = "SET lock_timeout = '1s';\nSET statement_timeout = '5s';\n"
CONCURRENT = TIMEOUTS + "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON app.users (email);\n"
NO_TRANSACTION = "-- harness:no-transaction\n"


def test_one_run_per_kind_of_file_finds_what_a_run_per_file_finds(write_migrations: WriteMigrations) -> None:
    """Whether a transaction wraps a file changes squawk's verdict, so files run with their kind."""
    directory = write_migrations({
        "0001_risky": (RISKY, "SELECT 1;\n"),
        "0002_concurrent_in_a_transaction": (CONCURRENT, "SELECT 1;\n"),
        "0003_concurrent": (NO_TRANSACTION + CONCURRENT, "SELECT 1;\n"),
        "0004_table_in_a_transaction": ("CREATE TABLE app.t (id bigint);\n", "SELECT 1;\n"),
        "0005_table": (NO_TRANSACTION + "CREATE TABLE app.u (id bigint);\n", "SELECT 1;\n"),
    })  # fmt: skip
    migrations = migrate.load_migrations(directory)
    together = migrate.lint_migrations(migrations)
    assert together == [f for m in migrations for f in migrate.lint_migrations([m])]
    rules = {(f.path.rsplit("/", 1)[-1].split("_")[0], f.rule) for f in together}
    assert ("0002", "ban-concurrent-index-creation-in-transaction") in rules
    assert not {r for r in rules if r[0] in ("0003", "0004")}
    assert ("0005", "prefer-robust-stmts") in rules


def test_files_are_linted_in_one_run_per_kind_unless_the_command_line_grows_too_long(
    write_migrations: WriteMigrations,
) -> None:
    up = {n: (NO_TRANSACTION if n % 4 == 0 else "") + f"CREATE TABLE t{n} (id bigint);\n" for n in range(1, 41)}
    directory = write_migrations({f"{n:04d}_table_{n:02d}": (sql, "SELECT 1;\n") for n, sql in up.items()})
    scripts = [m.up for m in migrate.load_migrations(directory)]
    assert [(r.in_transaction, len(r.paths)) for r in plan_runs(scripts)] == [(True, 30), (False, 10)]
    budget = 5 * (len(str(scripts[0].path)) + 1)
    small = plan_runs(scripts, budget)
    assert [len(r.paths) for r in small] == [5] * 8
    assert sorted(p for r in small for p in r.paths) == sorted(str(s.path) for s in scripts)
