"""`harness migrate rehearse` measures what squawk only predicts: a migration that locks a big table
under load is caught by name, its concurrent rewrite passes, lock_timeout stops a migration that
cannot get its lock, and the report shows (and gates on) the rehearsal.

The big table's 2 M rows make a plain CREATE INDEX hold its lock for about 3 s on a quiet 2-core
machine (a busy one only makes it longer), three times the default limit of 1 s. A concurrent build
takes no lock the load's reads and writes conflict with, however long it runs: what is left for
the load to wait on is one client's relation extension behind another's, milliseconds, so the safe
case is judged against a generous 5 s, which still fails a migration that blocks for real.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import asyncpg
import pytest

from harness import migrate
from harness.errors import ResultsFileError
from harness.migrate.rehearse import NO_LOAD, Rehearsal, Rehearsed, Window, rehearse_migrations
from harness.provision import Endpoints
from harness.pytest_plugin import Database
from harness.report import build_report, write_report
from suites.engine.cli.commands import harness
from suites.engine.migrate.histories import WriteMigrations

BIG = {
    "0001_big": (
        "CREATE TABLE big (id bigserial PRIMARY KEY, n int NOT NULL, body text NOT NULL);\n",
        "DROP TABLE big;\n",
    ),
    "0002_fill_big": (
        "INSERT INTO big (n, body) SELECT g, md5(g::text) FROM generate_series(1, 2000000) g;\n",
        "TRUNCATE big;\n",
    ),
}
UNSAFE = {"0003_index_body": ("CREATE INDEX big_body_idx ON big (body);\n", "DROP INDEX big_body_idx;\n")}
SAFE = {
    "0003_index_body": (
        "-- harness:no-transaction\nCREATE INDEX CONCURRENTLY big_body_idx ON big (body);\n",
        "-- harness:no-transaction\nDROP INDEX CONCURRENTLY big_body_idx;\n",
    )
}


def test_an_index_built_under_a_write_lock_fails_the_rehearsal_by_name(
    blank_database: Database, write_migrations: WriteMigrations, tmp_path: Path
) -> None:
    """No --from, and a database that applied nothing: the last migration is the one rehearsed."""
    results = tmp_path / "run" / "rehearsal.json"
    done = harness("migrate", "rehearse", "--dsn", blank_database.dsn, "--dir", str(write_migrations(BIG | UNSAFE)),
                   "--out", str(results))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "rehearsal failed: 0003_index_body kept application queries waiting on a lock for" in done.stderr
    assert "Traceback" not in done.stderr
    saved = json.loads(results.read_text())
    assert saved["from_version"] == 2
    [rehearsed] = saved["migrations"]
    assert (rehearsed["label"], rehearsed["outcome"]) == ("0003_index_body", "applied")
    assert rehearsed["longest_lock_wait_s"] > saved["max_block_s"] == 1.0
    assert rehearsed["before"]["queries"] > 0
    assert rehearsed["during"]["queries"] > 0
    assert saved["failures"]
    assert "0003_index_body" in saved["failures"][0]


def test_the_same_index_built_concurrently_passes_under_the_same_load(
    blank_database: Database, write_migrations: WriteMigrations, tmp_path: Path
) -> None:
    results = tmp_path / "rehearsal.json"
    done = harness("migrate", "rehearse", "--dsn", blank_database.dsn, "--dir", str(write_migrations(BIG | SAFE)),
                   "--from", "2", "--max-block", "5", "--out", str(results))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    [rehearsed] = json.loads(results.read_text())["migrations"]
    assert (rehearsed["label"], rehearsed["outcome"]) == ("0003_index_body", "applied")
    assert rehearsed["longest_lock_wait_s"] <= 5
    assert rehearsed["before"]["errors"] == rehearsed["during"]["errors"] == 0
    assert "0003_index_body" in done.stdout  # the table


async def test_lock_timeout_stops_a_migration_that_cannot_get_its_lock_and_the_scratch_database_goes(
    endpoints: Endpoints, write_migrations: WriteMigrations
) -> None:
    """The seed leaves a transaction open holding ACCESS SHARE on the table (a long report query,
    say): the load reads and writes past it, ALTER TABLE's ACCESS EXCLUSIVE cannot be had."""
    directory = write_migrations({
        "0001_t": ("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);\n", "DROP TABLE t;\n"),
        "0002_fill_t": ("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;\n", "TRUNCATE t;\n"),
        "0003_add_w": ("ALTER TABLE t ADD COLUMN w int;\n", "ALTER TABLE t DROP COLUMN w;\n"),
        "0004_add_x": ("ALTER TABLE t ADD COLUMN x int;\n", "ALTER TABLE t DROP COLUMN x;\n"),
    })  # fmt: skip
    scratch = f"hx_rehearse_{secrets.token_hex(6)}"
    holders: list[asyncpg.Connection] = []

    async def hold_a_lock(dsn: str) -> None:
        holder = await asyncpg.connect(dsn)
        holders.append(holder)
        await holder.execute("BEGIN; LOCK TABLE t IN ACCESS SHARE MODE")

    try:
        rehearsal = await rehearse_migrations(
            endpoints.postgres, migrate.load_migrations(directory), 2, max_block=60, query_timeout=60,
            seed=hold_a_lock, clients=2, baseline=0.5, lock_timeout=0.2, scratch=scratch,
        )  # fmt: skip
    finally:
        for holder in holders:
            holder.terminate()
    assert [(m.label, m.outcome) for m in rehearsal.migrations] == [
        ("0003_add_w", "lock_timeout"), ("0004_add_x", "not run")
    ]  # fmt: skip
    assert "lock timeout" in rehearsal.migrations[0].message
    assert rehearsal.failures() == ["0003_add_w was stopped by lock_timeout (0.2 s) under load"]
    admin = await asyncpg.connect(endpoints.postgres)
    try:
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", scratch) == 0
    finally:
        await admin.close()


def test_the_report_shows_the_rehearsal_and_check_fails_on_a_blocking_migration(tmp_path: Path) -> None:
    blocked = Rehearsed(3, "0003_index_body", "applied", 3.1, 3.07, Window(59236, 0, 0.6, 4.0),
                        Window(237, 0, 6.6, 3071.0))  # fmt: skip
    safe = Rehearsed(4, "0004_validate", "applied", 0.2, 0.0, Window(45075, 0, 0.9, 3.0), Window(2890, 0, 1.0, 8.0))
    Rehearsal(2, 8, 3.0, 1.0, None, [blocked, safe]).write(tmp_path / "rehearsal.json")
    report = build_report(tmp_path)
    page = write_report(report).read_text()
    assert "Migrations under load" in page
    assert "0003_index_body" in page
    assert "0004_validate" in page
    assert "3.070" in page
    assert report.check_failures()[0] == (
        "migration rehearsal: 0003_index_body kept application queries waiting on a lock for 3.07 s (limit 1 s)"
    )
    assert not any("0004_validate" in reason for reason in report.check_failures())


def test_a_migration_that_did_not_run_shows_as_such(tmp_path: Path) -> None:
    stopped = Rehearsed(3, "0003_add_w", "lock_timeout", 0.3, 0.2, Window(10, 0, 1.0, 2.0), NO_LOAD, "lock timeout")
    later = Rehearsed(4, "0004_add_x", "not run", 0, 0, NO_LOAD, NO_LOAD)
    Rehearsal(2, 2, 0.5, 1.0, 0.2, [stopped, later]).write(tmp_path / "rehearsal.json")
    report = build_report(tmp_path)
    page = write_report(report).read_text()
    assert "not run" in page
    assert "lock_timeout (0.2 s)" in page
    assert "migration rehearsal: 0003_add_w was stopped by lock_timeout (0.2 s) under load" in report.check_failures()


def test_from_at_or_beyond_the_last_migration_is_one_line(
    blank_database: Database, write_migrations: WriteMigrations
) -> None:
    directory = str(write_migrations(BIG | UNSAFE))
    for start in ("3", "9"):
        done = harness("migrate", "rehearse", "--dsn", blank_database.dsn, "--dir", directory, "--from", start)
        assert done.returncode == 1
        assert done.stderr.strip() == (
            f"error: nothing to rehearse after version {start}: the last migration is 0003_index_body"
        )


def test_a_schema_with_nothing_to_load_is_one_line(blank_database: Database, write_migrations: WriteMigrations) -> None:
    directory = str(write_migrations({"0001_big": BIG["0001_big"], **UNSAFE}))
    done = harness("migrate", "rehearse", "--dsn", blank_database.dsn, "--dir", directory)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "error: at version 1 no table has rows and a one-column primary key for the load to work on: seed one, "
        "or rehearse from a later version"
    )


def test_a_rehearsal_file_that_is_not_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "rehearsal.json").write_text('{"migrations": []}')
    with pytest.raises(ResultsFileError, match=r"rehearsal\.json: not a rehearsal results file \(KeyError"):
        build_report(tmp_path)
