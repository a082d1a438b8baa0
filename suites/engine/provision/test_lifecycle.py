"""Environments start tuned, end without a trace, and what a killed owner leaves `harness gc` removes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from harness.config import Settings
from harness.errors import ProvisionError
from harness.isolation.run import prepare_template
from harness.provision import Endpoints, choose_backend, open_environment
from harness.provision.external import ExternalEnvironment
from harness.provision.gc import collect_garbage
from harness.provision.registry import RECORD, EnvRecord
from suites.engine.provision.remains import nothing_left, opened_directory, start_owner, wait_until


async def test_servers_are_postgres_with_pgvector_tuned_for_tests(endpoints: Endpoints) -> None:
    conn = await asyncpg.connect(endpoints.postgres)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == 1
        assert int(await conn.fetchval("SHOW server_version_num")) >= 170000
        if endpoints.backend != "external":  # servers we start are disposable: no durability costs
            assert await conn.fetchval("SHOW fsync") == "off"
            assert await conn.fetchval("SHOW full_page_writes") == "off"
        if endpoints.backend == "embedded":
            assert (await conn.fetchval("SHOW data_directory")).startswith(str(Settings().state_dir))
    finally:
        await conn.close()


async def test_closing_an_environment_leaves_no_process_container_or_directory(isolated_settings: Settings) -> None:
    env = await open_environment(isolated_settings)
    record = EnvRecord.load(env.directory)
    assert record.processes or record.containers
    await env.close()
    assert nothing_left(record)
    assert not env.directory.exists()


def test_a_sigkilled_owner_leaves_nothing_that_gc_does_not_remove(isolated_settings: Settings) -> None:
    owner = start_owner(isolated_settings, "run", hold=True)
    directory = opened_directory(owner)
    record = EnvRecord.load(directory)
    owner.kill()
    owner.wait()
    if record.processes:  # embedded: the parent-death signal takes the servers down by itself
        wait_until(
            lambda: not any(ref.alive() for ref in record.processes),
            "the orphaned servers to exit",
            isolated_settings.hang_timeout,
        )
    removed = collect_garbage(isolated_settings.state_dir, str(isolated_settings.project_root)).removed
    assert f"environment {directory}" in removed
    assert nothing_left(record)
    assert not directory.exists()


def test_gc_judges_each_environment_of_a_run_directory_by_its_own_owner(isolated_settings: Settings) -> None:
    """A `harness mutate` run keeps its slots' environments in a directory of its own, with no
    record at its top: gc leaves it while a slot lives, and removes all of it once none does."""
    run_dir = isolated_settings.state_dir / "mutate-1"
    owner = start_owner(isolated_settings.model_copy(update={"state_dir": run_dir / "slot-0"}), "run", hold=True)
    directory = opened_directory(owner)
    record = EnvRecord.load(directory)
    try:
        kept = collect_garbage(isolated_settings.state_dir, str(isolated_settings.project_root), everything=True).kept
        assert any(line.startswith(f"environment {directory}:") for line in kept), kept
        assert directory.exists()
    finally:
        owner.kill()
        owner.wait()
    removed = collect_garbage(isolated_settings.state_dir, str(isolated_settings.project_root), everything=True).removed
    assert f"environment {directory}" in removed
    assert nothing_left(record)
    assert not run_dir.exists()


def test_a_kept_environment_outlives_its_owner_until_gc_all(isolated_settings: Settings) -> None:
    owner = start_owner(isolated_settings.model_copy(update={"keep": True}), "run", hold=False)
    directory = opened_directory(owner)
    owner.wait()
    record = EnvRecord.load(directory)
    assert not nothing_left(record)
    assert collect_garbage(isolated_settings.state_dir, str(isolated_settings.project_root)).removed == []
    removed = collect_garbage(isolated_settings.state_dir, str(isolated_settings.project_root), everything=True).removed
    assert f"environment {directory}" in removed
    assert nothing_left(record)


async def test_a_reused_environment_is_found_again_and_its_template_not_rebuilt(isolated_settings: Settings) -> None:
    settings = isolated_settings.model_copy(update={"reuse": True})
    first = await open_environment(settings)
    try:
        _, built = await prepare_template(settings, first.endpoints)
        assert built
        second = await open_environment(settings)
        assert second.endpoints == first.endpoints
        _, built = await prepare_template(settings, second.endpoints)
        assert not built
    finally:
        await first.destroy()


def test_sigterm_to_a_pytest_run_tears_everything_down(isolated_settings: Settings, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    (tmp_path / "test_waits.py").write_text(
        "import pathlib, time\n"
        "def test_waits(endpoints):\n"
        f"    pathlib.Path({str(marker)!r}).write_text('x')\n"
        "    time.sleep(60)\n"
    )
    environ = {**os.environ, **isolated_settings.as_environment()}
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_waits.py")],
        cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    wait_until(marker.exists, "the test to start", isolated_settings.hang_timeout)
    records = [EnvRecord.load(p.parent) for p in isolated_settings.state_dir.glob(f"*/{RECORD}")]
    assert len(records) == 1
    run.send_signal(signal.SIGTERM)
    output, _ = run.communicate(timeout=isolated_settings.hang_timeout)
    assert "KeyboardInterrupt" in output or "Interrupted" in output, output
    assert nothing_left(records[0])
    assert not isolated_settings.state_dir.exists() or list(isolated_settings.state_dir.iterdir()) == []


async def test_a_state_directory_the_servers_cannot_reach_is_refused_by_name(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    if isolated_settings.backend != "embedded" or os.geteuid() != 0:
        pytest.skip("only the embedded backend running as root demotes its servers")
    with pytest.raises(ProvisionError, match="cannot enter"):
        await open_environment(isolated_settings.model_copy(update={"state_dir": tmp_path / "state"}))
    assert not (tmp_path / "state").exists() or list((tmp_path / "state").iterdir()) == []


def test_auto_says_why_it_falls_back_to_embedded(isolated_settings: Settings) -> None:
    settings = isolated_settings.model_copy(update={"backend": "auto", "pg_image": "harness-test/absent:never"})
    backend, reason = choose_backend(settings)
    assert backend == "embedded"
    assert reason.startswith("auto: ")
    assert "harness-test/absent:never" in reason or "docker engine does not answer" in reason


async def test_external_backend_uses_given_servers_and_never_stops_them(
    endpoints: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DATABASE_URL", endpoints.postgres)
    monkeypatch.setenv("REDIS_URL", endpoints.redis)
    env = await open_environment(Settings(backend="external", state_dir=tmp_path / "state"))
    assert isinstance(env, ExternalEnvironment)
    assert env.endpoints.postgres == endpoints.postgres
    with pytest.raises(ProvisionError, match="external backend does not control postgres"):
        await env.faults.postgres.restart()
    await env.close()
    conn = await asyncpg.connect(endpoints.postgres)
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()


def test_external_backend_without_endpoints_names_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TEST_DATABASE_URL", "HARNESS_DATABASE_URL", "POSTGRES_HOST", "REDIS_URL", "REDIS_HOST"):
        monkeypatch.delenv(name, raising=False)
    from harness.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="TEST_DATABASE_URL or POSTGRES_HOST"):
        asyncio.run(open_environment(Settings(backend="external", state_dir=tmp_path / "state")))
    assert list((tmp_path / "state").iterdir()) == []
