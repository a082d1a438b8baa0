"""The embedded backend's cache of initialised data directories: runs that start at once share
it, a damaged entry is rebuilt, and the cache's password opens nothing once a run has started."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from harness.config import Settings
from harness.provision import open_environment
from harness.provision.initdb_cache import DATA, PASSWORD


@pytest.fixture
def cached(isolated_settings: Settings) -> Iterator[Settings]:
    """The embedded backend with an initdb cache of the test's own, empty at first."""
    if isolated_settings.backend != "embedded":
        pytest.skip("the embedded backend's initdb cache")
    cache = isolated_settings.state_dir.with_name(isolated_settings.state_dir.name + "-initdb")
    yield isolated_settings.model_copy(update={"initdb_cache": cache})
    shutil.rmtree(cache, ignore_errors=True)


def entries(settings: Settings) -> list[Path]:
    assert settings.initdb_cache is not None
    return sorted(settings.initdb_cache.iterdir())


async def test_runs_starting_at_once_from_an_empty_cache_all_serve_and_leave_one_entry(cached: Settings) -> None:
    envs = await asyncio.gather(*(open_environment(cached) for _ in range(3)))
    try:
        for env in envs:
            conn = await asyncpg.connect(env.endpoints.postgres)
            assert await conn.fetchval("SELECT 1") == 1
            await conn.close()
    finally:
        await asyncio.gather(*(env.close() for env in envs))
    [entry] = entries(cached)  # no staging directory is left behind
    assert (entry / DATA / "global" / "pg_control").is_file()


async def test_a_damaged_entry_is_rebuilt(cached: Settings) -> None:
    await (await open_environment(cached)).close()
    [entry] = entries(cached)
    (entry / DATA / "global" / "pg_control").unlink()
    env = await open_environment(cached)
    try:
        conn = await asyncpg.connect(env.endpoints.postgres)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
    finally:
        await env.close()
    assert [p.name for p in entries(cached)] == [entry.name]
    assert (entry / DATA / "global" / "pg_control").is_file()


async def test_the_caches_password_opens_nothing_once_a_run_has_started(cached: Settings) -> None:
    env = await open_environment(cached)
    try:
        [entry] = entries(cached)
        cache_password = (entry / PASSWORD).read_text().strip()
        run_password = urlsplit(env.endpoints.postgres).password
        assert run_password
        assert cache_password != run_password
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(env.endpoints.postgres.replace(f":{run_password}@", f":{cache_password}@"))
    finally:
        await env.close()


async def test_the_cache_is_private_to_its_user(cached: Settings) -> None:
    await (await open_environment(cached)).close()
    assert cached.initdb_cache is not None
    mode = stat.S_IMODE(cached.initdb_cache.stat().st_mode)
    assert mode == (0o711 if os.geteuid() == 0 else 0o700)  # as root: enterable by the demoted server only
    [entry] = entries(cached)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o700
    assert stat.S_IMODE((entry / PASSWORD).stat().st_mode) == 0o600
    assert stat.S_IMODE((entry / DATA).stat().st_mode) == 0o700
