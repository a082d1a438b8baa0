"""The down lint: each statement that throws data away is named with its file and line, a reasoned
`-- harness:loses-data` header silences a file, and a header without a reason is refused."""

from __future__ import annotations

import pytest

from harness import migrate
from harness.config import Settings
from harness.errors import LintFailed
from suites.engine.cli.commands import harness
from suites.engine.migrate.histories import WriteMigrations

UP = "CREATE TABLE app.t (id int, c text);\n"
LOSSES = """-- 0001 down
/* a comment before the statement */ DROP TABLE app.t, app.u;

ALTER TABLE app.t ADD COLUMN d int,
    DROP COLUMN c;
TRUNCATE app.t;
DELETE FROM t WHERE id = 1;
UPDATE app.t SET c = 'kept';
DROP INDEX app.t_idx;
"""


def test_each_statement_that_loses_data_is_named_at_its_line(write_migrations: WriteMigrations) -> None:
    directory = write_migrations({"0001_x": (UP, LOSSES)})
    findings = migrate.lint_downs(migrate.load_migrations(directory))
    assert [str(f).rsplit("/", 1)[-1] for f in findings] == [
        "0001_x.down.sql:2: loses data: drops table app.t",
        "0001_x.down.sql:2: loses data: drops table app.u",
        "0001_x.down.sql:4: loses data: drops column app.t.c",
        "0001_x.down.sql:6: loses data: truncates table app.t",
        "0001_x.down.sql:7: loses data: deletes rows from t",
    ]


def test_a_header_with_a_reason_silences_the_file(write_migrations: WriteMigrations) -> None:
    down = "-- 0001 down\n-- harness:loses-data drops the table its up creates\n" + LOSSES
    directory = write_migrations({"0001_x": (UP, down)})
    assert migrate.lint_downs(migrate.load_migrations(directory)) == []


def test_a_header_without_a_reason_is_refused_naming_the_file(write_migrations: WriteMigrations) -> None:
    directory = write_migrations({"0001_x": (UP, "-- harness:loses-data   \nDROP TABLE app.t;\n")})
    with pytest.raises(LintFailed, match=r"0001_x\.down\.sql: `-- harness:loses-data` needs a reason"):
        migrate.lint_downs(migrate.load_migrations(directory))


def test_up_files_and_downs_that_keep_data_have_no_finding(write_migrations: WriteMigrations) -> None:
    directory = write_migrations({"0001_x": ("DROP TABLE app.old;\n" + UP, "ALTER TABLE app.t RENAME c TO d;\n")})
    assert migrate.lint_downs(migrate.load_migrations(directory)) == []


def test_the_cli_prints_the_findings_and_exits_1(write_migrations: WriteMigrations) -> None:
    directory = write_migrations({"0001_x": (UP, LOSSES)})
    done = harness("migrate", "lint", "--dir", str(directory))
    assert done.returncode == 1, done.stderr
    assert "0001_x.down.sql:4: loses data: drops column app.t.c" in done.stdout
    refused = write_migrations({"0001_x": (UP, "-- harness:loses-data\nDROP TABLE app.t;\n")})
    done = harness("migrate", "lint", "--dir", str(refused))
    assert done.returncode == 1
    assert "error:" in done.stderr
    assert "needs a reason" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_betterprompts_down_that_drops_data_says_why(harness_settings: Settings) -> None:
    migrations = migrate.load_migrations(harness_settings.migrations_dir)
    assert migrate.lint_downs(migrations) == []
    marked = [m.label for m in migrations if "-- harness:loses-data " in m.down.sql]
    assert marked == ["0002_auth", "0003_prompts", "0004_analytics", "0005_vector_search", "0007_partition_history"]
