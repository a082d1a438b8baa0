"""An embedded server's log outlives its environment when the run failed or the server reported
trouble of its own (a failed checkpoint), and only then."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import asyncpg
import pytest

from harness.config import Settings
from harness.provision import open_environment
from harness.provision.server_logs import server_trouble


@pytest.fixture
def keeping(isolated_settings: Settings, tmp_path: Path) -> Settings:
    if isolated_settings.backend != "embedded":
        pytest.skip("the embedded backend's server logs")
    return isolated_settings.model_copy(update={"failed_logs_dir": tmp_path / "kept"})


def kept(settings: Settings) -> list[Path]:
    assert settings.failed_logs_dir is not None
    return sorted(settings.failed_logs_dir.iterdir()) if settings.failed_logs_dir.is_dir() else []


async def test_a_failed_runs_postgres_log_outlives_its_environment(
    keeping: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    env = await open_environment(keeping)
    env.failed = True
    with caplog.at_level(logging.WARNING, logger="harness.provision"):
        await env.close()
    assert not env.directory.exists()
    [directory] = kept(keeping)
    assert "database system is ready" in "".join(p.read_text() for p in directory.iterdir())
    assert not list(directory.glob("*.json"))  # the text log only, not its jsonlog twin
    assert [r.getMessage() for r in caplog.records if str(directory) in r.getMessage()]  # said where


async def test_a_run_without_failure_or_trouble_keeps_no_log(keeping: Settings) -> None:
    env = await open_environment(keeping)
    await env.close()
    assert kept(keeping) == []


async def test_a_failed_checkpoint_keeps_the_log_of_a_run_that_passed(
    keeping: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The checkpointer cannot write a table's file (made read-only under it): every checkpoint fails,
    as a rehearsal's did, and the log that says why is kept."""
    env = await open_environment(keeping)
    try:
        conn = await asyncpg.connect(env.endpoints.postgres)
        try:
            await conn.execute("CREATE TABLE unwritable AS SELECT generate_series(1, 1000) AS n")
            relative = await conn.fetchval("SELECT pg_relation_filepath('unwritable')")
            (env.directory / "data" / relative).chmod(0o444)
            with pytest.raises(asyncpg.PostgresError, match="checkpoint request failed"):
                await conn.execute("CHECKPOINT")
        finally:
            await conn.close()
    finally:
        with caplog.at_level(logging.WARNING, logger="harness.provision"):
            await env.close()
    [directory] = kept(keeping)
    assert "Permission denied" in "".join(p.read_text() for p in directory.iterdir())
    assert [r for r in caplog.records if "postgres reported checkpointer: " in r.getMessage()]


def test_only_the_servers_own_failures_are_trouble(tmp_path: Path) -> None:
    def trouble(*records: dict[str, str]) -> str | None:
        # one object a line, no spaces, as postgres writes them
        (tmp_path / "postgresql.json").write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
        return server_trouble(tmp_path)

    routine = [
        {"error_severity": "ERROR", "state_code": "23505", "backend_type": "client backend", "message": "dup"},
        {"error_severity": "FATAL", "state_code": "57P01", "backend_type": "autovacuum worker", "message": "ended"},
        {"error_severity": "FATAL", "state_code": "3D000", "backend_type": "autovacuum worker", "message": "dropped"},
        {"error_severity": "LOG", "state_code": "00000", "backend_type": "checkpointer", "message": "checkpoint"},
    ]
    assert trouble(*routine) is None
    checkpoint = {"error_severity": "ERROR", "state_code": "58030", "backend_type": "checkpointer", "message": "io"}
    assert trouble(*routine, checkpoint) == "checkpointer: io"
    corrupt = {"error_severity": "ERROR", "state_code": "XX001", "backend_type": "client backend", "message": "bad"}
    assert trouble(corrupt) == "client backend: bad"
    assert trouble({"error_severity": "PANIC", "backend_type": "startup", "message": "x"}) == "startup: x"
