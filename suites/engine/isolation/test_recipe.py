"""A template is named by its recipe's hash, server facts included, and a new template evicts the
older ones of its kind that nothing uses, on the run's real server."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest_asyncio

from harness.config import Settings
from harness.isolation import Recipe, RunState, ServerFacts, ensure_template, template_name
from harness.isolation.template import base_template, drop_template
from harness.provision.databases import create_database, drop_database


@dataclass(frozen=True)
class OneTable:
    """A seed of the test's own: one table, under a label no other template shares."""

    label: str
    version: int = 0

    def fingerprint(self) -> str:
        return f"{self.label} v{self.version}"

    async def load(self, dsn: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"CREATE TABLE rows_v{self.version} (id int)")
        finally:
            await conn.close()


@pytest_asyncio.fixture
async def admin(harness_run: RunState) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(harness_run.endpoints.postgres)
    yield conn
    await conn.close()


async def test_another_server_version_or_extension_version_names_another_template(
    admin: asyncpg.Connection, harness_settings: Settings
) -> None:
    recipe = Recipe(harness_settings.migrations_dir)
    server = await ServerFacts.read(admin)
    assert server.version == await admin.fetchval("SHOW server_version")
    assert any(e.startswith("vector=") for e in server.extensions)
    name = template_name(recipe, server)
    assert template_name(recipe, await ServerFacts.read(admin)) == name  # stable on one server
    assert template_name(recipe, dataclasses.replace(server, version=server.version + "1")) != name
    other_vector = tuple(e + ".1" if e.startswith("vector=") else e for e in server.extensions)
    assert template_name(recipe, dataclasses.replace(server, extensions=other_vector)) != name
    mutated = template_name(recipe, server, mutation="DROP TABLE t")
    assert mutated != name
    assert base_template(mutated) == name


async def test_a_changed_migration_or_seed_names_another_template(admin: asyncpg.Connection, tmp_path: Path) -> None:
    server = await ServerFacts.read(admin)
    (tmp_path / "0001_t.up.sql").write_text("CREATE TABLE t (id int);\n")
    first = template_name(Recipe(tmp_path, OneTable("x")), server)
    assert template_name(Recipe(tmp_path, OneTable("x", version=1)), server) != first
    (tmp_path / "0001_t.up.sql").write_text("CREATE TABLE t (id bigint);\n")
    assert template_name(Recipe(tmp_path, OneTable("x")), server) != first


async def test_a_new_template_evicts_the_old_unused_ones_of_its_kind_and_keeps_those_in_use(
    harness_run: RunState, admin: asyncpg.Connection, tmp_path: Path
) -> None:
    label = f"eviction {secrets.token_hex(3)}"
    (tmp_path / "0001_nothing.up.sql").write_text("SELECT 1;\n")  # the seed makes the table
    (tmp_path / "0001_nothing.down.sql").write_text("SELECT 1;\n")
    server = await ServerFacts.read(admin)
    recipes = [Recipe(tmp_path, OneTable(label, version)) for version in range(5)]
    names = [template_name(r, server) for r in recipes]
    other_kind = Recipe(tmp_path, OneTable(label + " other"))
    connected: asyncpg.Connection | None = None
    try:
        await ensure_template(harness_run.endpoints, template_name(other_kind, server), other_kind)
        for recipe, name in zip(recipes[:4], names[:4], strict=True):
            assert await ensure_template(harness_run.endpoints, name, recipe)
        await admin.execute(f'ALTER DATABASE "{names[0]}" WITH ALLOW_CONNECTIONS true')
        connected = await asyncpg.connect(harness_run.endpoints.postgres_dsn(names[0]))  # in use: a session
        await create_database(admin, f"{names[2]}_w0_0", names[2])  # in use: a clone

        assert await ensure_template(harness_run.endpoints, names[4], recipes[4], evict=True)

        left = {r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database")}
        assert names[1] not in left  # old, unused: evicted
        assert {names[0], names[2], names[3], names[4]} <= left  # in use, or among the two newest
        assert template_name(other_kind, server) in left  # another kind is not this one's to evict
    finally:
        if connected is not None:
            await connected.close()
        await drop_database(admin, f"{names[2]}_w0_0")
        for name in [*names, template_name(other_kind, server)]:
            await drop_template(admin, name)
