"""The embedded backend's template snapshots: a run of a recipe built before starts from the saved
data directory (its template is not built again), a changed recipe does not, a damaged entry is
rebuilt, runs that start at once share the cache, no server writes an entry's files, and the entry's
password opens nothing once a run has started."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from harness.config import Settings
from harness.isolation.run import prepare_run
from harness.provision import Environment
from harness.provision.snapshot_cache import DATA, MANIFEST, PASSWORD, entries, snapshot_root
from suites.engine.provision.snapshot_runs import cache, probe_recipe, run_once


@pytest.fixture
def snapshotted(isolated_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The embedded backend with initdb and snapshot caches of the test's own, and migrations of
    its own (so no other test's run saves or uses its entries)."""
    if isolated_settings.backend != "embedded":
        pytest.skip("the embedded backend's template snapshots")
    cache = isolated_settings.state_dir.with_name(isolated_settings.state_dir.name + "-initdb")
    yield isolated_settings.model_copy(update={"initdb_cache": cache, **probe_recipe(tmp_path)})
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(snapshot_root(cache), ignore_errors=True)


def root(settings: Settings) -> Path:
    assert settings.initdb_cache is not None
    return snapshot_root(settings.initdb_cache)


async def test_a_second_run_starts_from_the_snapshot_and_builds_no_template(snapshotted: Settings) -> None:
    built, from_snapshot, oid = await run_once(snapshotted)
    assert (built, from_snapshot) == (True, False)
    [entry] = entries(root(snapshotted))
    assert entry.whole
    assert len(entry.templates) == 1
    built, from_snapshot, second_oid = await run_once(snapshotted)
    assert (built, from_snapshot) == (False, True)
    assert second_oid == oid  # the very template the first run built, not a new one


async def test_a_changed_recipe_does_not_use_the_snapshot(snapshotted: Settings) -> None:
    await run_once(snapshotted)
    (snapshotted.migrations_dir / "0002_more.up.sql").write_text("ALTER TABLE snapshot_probe ADD extra int;\n")
    (snapshotted.migrations_dir / "0002_more.down.sql").write_text("ALTER TABLE snapshot_probe DROP extra;\n")
    built, from_snapshot, _ = await run_once(snapshotted)
    assert (built, from_snapshot) == (True, False)
    assert len(entries(root(snapshotted))) == 2  # one per recipe


async def test_only_the_newest_entries_are_kept(snapshotted: Settings) -> None:
    settings = snapshotted.model_copy(update={"template_snapshots_keep": 1})
    await run_once(settings)
    (settings.migrations_dir / "0002_more.up.sql").write_text("ALTER TABLE snapshot_probe ADD extra int;\n")
    (settings.migrations_dir / "0002_more.down.sql").write_text("ALTER TABLE snapshot_probe DROP extra;\n")
    await run_once(settings)
    assert len(entries(root(settings))) == 1
    built, from_snapshot, _ = await run_once(settings)
    assert (built, from_snapshot) == (False, True)  # the kept one is the newest recipe's


@pytest.mark.parametrize(
    "change", [{"template_snapshots": False}, {"template_snapshot_min_build": 3600.0}], ids=["off", "quick-build"]
)
async def test_turned_off_or_a_quick_build_saves_no_snapshot(snapshotted: Settings, change: dict[str, object]) -> None:
    settings = snapshotted.model_copy(update=change)
    assert (await run_once(settings))[:2] == (True, False)
    assert (await run_once(settings))[:2] == (True, False)
    assert entries(root(settings)) == []


async def test_a_partial_entry_is_rebuilt(snapshotted: Settings) -> None:
    await run_once(snapshotted)
    [entry] = entries(root(snapshotted))
    (entry.path / DATA / "global" / "pg_control").unlink()
    built, from_snapshot, _ = await run_once(snapshotted)
    assert (built, from_snapshot) == (True, False)
    [entry] = entries(root(snapshotted))
    assert entry.whole
    assert (await run_once(snapshotted))[:2] == (False, True)


def file_facts(directory: Path) -> dict[str, tuple[int, int, int, int]]:
    """Every file below `directory`: inode, link count, size, mtime."""
    return {
        str(path.relative_to(directory)): (stat.st_ino, stat.st_nlink, stat.st_size, stat.st_mtime_ns)
        for path in directory.rglob("*")
        if path.is_file() and (stat := path.stat())
    }


async def write_like_autovacuum(env: Environment, template: str) -> None:
    """What autovacuum does in a template on its own schedule (it visits any database with a
    statistics entry, connections allowed or not), done at once: clones of template0 and of the
    template made and dropped, then the template vacuumed and analyzed, which writes its pg_class,
    pg_statistic, visibility maps and hint bits."""
    conn = await asyncpg.connect(env.endpoints.postgres)
    try:
        for n, (source, strategy) in enumerate(
            [("template0", "WAL_LOG"), (template, "WAL_LOG"), (template, "FILE_COPY")]
        ):
            await conn.execute(f'CREATE DATABASE scratch_{n} TEMPLATE "{source}" STRATEGY {strategy}')
            await conn.execute(f"DROP DATABASE scratch_{n}")
        await conn.execute(f'ALTER DATABASE "{template}" WITH ALLOW_CONNECTIONS true')
        inside = await asyncpg.connect(env.endpoints.postgres_dsn(template))
        try:
            await inside.execute("VACUUM (FREEZE, ANALYZE)")
        finally:
            await inside.close()
        await conn.execute(f'ALTER DATABASE "{template}" WITH ALLOW_CONNECTIONS false')
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def test_no_server_started_from_an_entry_shares_or_writes_a_file_of_it(snapshotted: Settings) -> None:
    """The entry's files are its own (no hard link into a run's data directory), and two servers
    started from it at once, each writing its template and template0, leave every one as it was
    (with the templates hard-linked, both wrote the entry's files, each from its own buffers)."""
    await run_once(snapshotted)
    [entry] = entries(root(snapshotted))
    before = file_facts(entry.path)
    assert {links for _, links, _, _ in before.values()} == {1}
    started = await asyncio.gather(prepare_run(snapshotted), prepare_run(snapshotted))
    try:
        assert [env.from_snapshot for env, _ in started] == [True, True]
        await asyncio.gather(*(write_like_autovacuum(env, state.template) for env, state in started))
    finally:
        await asyncio.gather(*(env.close() for env, _ in started))
    assert file_facts(entry.path) == before


async def test_runs_starting_at_once_share_one_entry(snapshotted: Settings) -> None:
    results = await asyncio.gather(*(run_once(snapshotted) for _ in range(3)))
    assert all(built for built, _, _ in results)  # none found an entry: each built its own template
    [entry] = entries(root(snapshotted))
    assert entry.whole
    assert not [p for p in root(snapshotted).iterdir() if "." in p.name and p.name != ".lock"]
    results = await asyncio.gather(*(run_once(snapshotted) for _ in range(2)))
    assert [from_snapshot for _, from_snapshot, _ in results] == [True, True]


async def test_the_entry_password_opens_nothing_once_a_run_has_started(snapshotted: Settings) -> None:
    await run_once(snapshotted)
    [entry] = entries(root(snapshotted))
    cache_password = (entry.path / PASSWORD).read_text().strip()
    assert (entry.path / MANIFEST).stat().st_mode & 0o077 == 0
    env, _ = await prepare_run(snapshotted)
    try:
        assert env.from_snapshot
        url = urlsplit(env.endpoints.postgres)
        assert url.password != cache_password
        conn = await asyncpg.connect(env.endpoints.postgres)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(env.endpoints.postgres.replace(f":{url.password}@", f":{cache_password}@", 1))
    finally:
        await env.close()


async def test_a_cache_that_cannot_be_written_costs_the_run_nothing_but_the_save(snapshotted: Settings) -> None:
    root(snapshotted).parent.mkdir(parents=True, exist_ok=True)
    root(snapshotted).write_text("not a directory\n")  # every save fails
    try:
        built, from_snapshot, _ = await run_once(snapshotted)  # the run goes on, its server restarted
        assert (built, from_snapshot) == (True, False)
        assert (await run_once(snapshotted))[:2] == (True, False)
    finally:
        root(snapshotted).unlink()


async def test_harness_cache_lists_and_clears_the_snapshots(snapshotted: Settings) -> None:
    await run_once(snapshotted)
    [entry] = entries(root(snapshotted))

    listed = cache(snapshotted, "list")
    assert entry.path.name in listed
    assert entry.templates[0][:12] in listed
    assert f"embedded: removed 1 from {root(snapshotted)}" in cache(snapshotted, "clear")
    assert entries(root(snapshotted)) == []
    assert f"embedded: 0 in {root(snapshotted)}" in cache(snapshotted, "list")
