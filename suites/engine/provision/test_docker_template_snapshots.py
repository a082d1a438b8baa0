"""The docker backend's template snapshots: a run of a recipe built before on the same image starts
its container from the saved data directory (the template is not built again), the entry's password
opens nothing once the run has started, the entry is copied (no container writes its files), and a
damaged entry is built again; the run that saves one keeps its endpoints and leaves no container."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from harness.config import Settings
from harness.isolation.run import prepare_run
from harness.provision import choose_backend
from harness.provision.containers import docker_client
from harness.provision.docker_initdb import cache_root, usable
from harness.provision.registry import LABEL_STATE_DIR
from harness.provision.snapshot_cache import DATA, PASSWORD, entries, snapshot_root
from suites.engine.provision.remains import purge
from suites.engine.provision.snapshot_runs import cache, probe_recipe, run_once


@pytest.fixture
def snapshotted(harness_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Docker settings with a state directory, initdb cache and migrations of the test's own (so no
    other test's run saves or uses its entries)."""
    backend, why = choose_backend(harness_settings)
    if backend != "docker":
        pytest.skip(f"the docker backend is not this run's ({why})")
    if not usable():
        pytest.skip("the docker caches copy with owners, which needs root")
    token = secrets.token_hex(4)
    state_dir = harness_settings.state_dir.parent / f"harness-test-{token}"
    initdb_cache = harness_settings.state_dir.parent / f"harness-test-initdb-{token}"
    yield harness_settings.model_copy(
        update={
            "backend": "docker",
            "state_dir": state_dir,
            "initdb_cache": initdb_cache,
            "reuse": False,
            "keep": False,
            **probe_recipe(tmp_path),
        }
    )
    purge(state_dir)
    shutil.rmtree(cache_root(initdb_cache), ignore_errors=True)
    shutil.rmtree(snapshot_root(cache_root(initdb_cache)), ignore_errors=True)


def root(settings: Settings) -> Path:
    assert settings.initdb_cache is not None
    return snapshot_root(cache_root(settings.initdb_cache))


def containers_of(settings: Settings) -> list[str]:
    return [
        c.name
        for c in docker_client().containers.list(all=True, filters={"label": f"{LABEL_STATE_DIR}={settings.state_dir}"})
    ]


async def test_a_second_run_starts_from_the_snapshot_and_builds_no_template(snapshotted: Settings) -> None:
    built, from_snapshot, oid = await run_once(snapshotted)
    assert (built, from_snapshot) == (True, False)
    assert containers_of(snapshotted) == []  # the saving run's one-off and restarted containers are gone
    [entry] = entries(root(snapshotted))
    assert entry.whole
    assert len(entry.templates) == 1
    built, from_snapshot, second_oid = await run_once(snapshotted)
    assert (built, from_snapshot) == (False, True)
    assert second_oid == oid  # the very template the first run built, not a new one


async def test_the_entrys_password_opens_nothing_once_a_run_started(snapshotted: Settings) -> None:
    await run_once(snapshotted)
    [entry] = entries(root(snapshotted))
    entry_password = (entry.path / PASSWORD).read_text().strip()
    env, _ = await prepare_run(snapshotted)
    try:
        assert env.from_snapshot
        url = urlsplit(env.endpoints.postgres)
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(f"postgresql://{url.username}:{entry_password}@{url.hostname}:{url.port}/postgres")
        await (await asyncpg.connect(env.endpoints.postgres)).close()
    finally:
        await env.close()


async def test_no_container_writes_the_entrys_files(snapshotted: Settings) -> None:
    await run_once(snapshotted)
    [entry] = entries(root(snapshotted))
    before = {str(p): p.stat().st_mtime_ns for p in (entry.path / DATA).rglob("*") if p.is_file()}
    assert (await run_once(snapshotted))[1]
    after = {str(p): p.stat().st_mtime_ns for p in (entry.path / DATA).rglob("*") if p.is_file()}
    assert after == before


async def test_a_damaged_entry_is_built_again(snapshotted: Settings) -> None:
    await run_once(snapshotted)
    [entry] = entries(root(snapshotted))
    (entry.path / DATA / "global" / "pg_control").unlink()
    assert (await run_once(snapshotted))[:2] == (True, False)
    [entry] = entries(root(snapshotted))
    assert entry.whole
    assert (await run_once(snapshotted))[:2] == (False, True)


async def test_turned_off_saves_no_snapshot(snapshotted: Settings) -> None:
    settings = snapshotted.model_copy(update={"template_snapshots": False})
    assert (await run_once(settings))[:2] == (True, False)
    assert (await run_once(settings))[:2] == (True, False)
    assert entries(root(settings)) == []


async def test_harness_cache_lists_and_clears_the_docker_snapshots(snapshotted: Settings) -> None:
    await run_once(snapshotted)
    [entry] = entries(root(snapshotted))

    listed = cache(snapshotted, "list")
    assert entry.path.name in listed
    assert f"docker: 1 in {root(snapshotted)}" in listed
    assert f"docker: removed 1 from {root(snapshotted)}" in cache(snapshotted, "clear")
    assert entries(root(snapshotted)) == []
