"""The docker backend's initdb cache: a run's postgres container starts on a copy of an initialised
data directory built once per image, and the copy's superuser gets the run's own password before
anyone is handed the endpoints."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from harness.config import Settings
from harness.provision import choose_backend, open_environment
from harness.provision.docker_initdb import cache_root, usable
from harness.provision.initdb_cache import DATA, PASSWORD
from suites.engine.provision.remains import purge


@pytest.fixture
def cached(harness_settings: Settings) -> Iterator[Settings]:
    """Docker settings with a state directory and an initdb cache of the test's own."""
    backend, why = choose_backend(harness_settings)
    if backend != "docker":
        pytest.skip(f"the docker backend is not this run's ({why})")
    if not usable():
        pytest.skip("the docker initdb cache copies with owners, which needs root")
    token = secrets.token_hex(4)
    state_dir = harness_settings.state_dir.parent / f"harness-test-{token}"
    initdb_cache = harness_settings.state_dir.parent / f"harness-test-initdb-{token}"
    yield harness_settings.model_copy(
        update={"backend": "docker", "state_dir": state_dir, "initdb_cache": initdb_cache, "reuse": False}
    )
    purge(state_dir)
    shutil.rmtree(cache_root(initdb_cache), ignore_errors=True)


def only_entry(settings: Settings) -> Path:
    assert settings.initdb_cache is not None
    [entry] = [p for p in cache_root(settings.initdb_cache).iterdir() if p.is_dir()]
    return entry


async def started_system_id(settings: Settings) -> tuple[int, str]:
    """Start an environment; the system identifier initdb gave its cluster, and its postgres DSN."""
    env = await open_environment(settings)
    try:
        conn = await asyncpg.connect(env.endpoints.postgres)
        try:
            return int(await conn.fetchval("SELECT system_identifier FROM pg_control_system()")), env.endpoints.postgres
        finally:
            await conn.close()
    finally:
        await env.close()


async def test_runs_start_from_one_initialised_directory_each_with_a_password_of_its_own(cached: Settings) -> None:
    first, first_dsn = await started_system_id(cached)
    entry = only_entry(cached)
    second, second_dsn = await started_system_id(cached)
    assert first == second  # one initdb: two would have given two identifiers
    assert first_dsn != second_dsn

    env = await open_environment(cached)
    try:
        user, _, rest = env.endpoints.postgres.removeprefix("postgresql://").partition(":")
        _, _, hostport = rest.partition("@")
        entry_password = (entry / PASSWORD).read_text().strip()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(f"postgresql://{user}:{entry_password}@{hostport}")
        await (await asyncpg.connect(env.endpoints.postgres)).close()
    finally:
        await env.close()


async def test_an_entry_missing_its_control_file_is_built_again(cached: Settings) -> None:
    first, _ = await started_system_id(cached)
    (only_entry(cached) / DATA / "global" / "pg_control").unlink()
    second, _ = await started_system_id(cached)
    assert second != first
    assert (only_entry(cached) / DATA / "global" / "pg_control").is_file()
