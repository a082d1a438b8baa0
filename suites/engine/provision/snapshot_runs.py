"""What the template-snapshot tests of both backends share: a recipe of the test's own (one probe
table), one run's start, and `harness cache` over the test's own initdb cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from harness.config import Settings
from harness.isolation.run import prepare_run
from harness.isolation.template import clone_database
from suites.engine.cli.commands import harness

MIGRATION = "CREATE TABLE snapshot_probe (id bigint PRIMARY KEY, note text);\n"


def probe_recipe(tmp_path: Path) -> dict[str, Any]:
    """Settings for a recipe of the test's own, migrations only (so no other test's run saves or
    uses its entries), whose snapshot is saved however quick its build."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_probe.up.sql").write_text(MIGRATION)
    (migrations / "0001_probe.down.sql").write_text("DROP TABLE snapshot_probe;\n")
    return {
        "template_snapshots": True,
        "template_snapshot_min_build": 0.0,
        "migrations_dir": migrations,
        "postgres_logins": tmp_path / "no-logins.toml",
        "template_seed": "",
        "template_mutation": "",
    }


async def run_once(settings: Settings) -> tuple[bool, bool, int]:
    """One run's start: whether it built the template, whether it started from a snapshot, and the
    template's OID (a template copied with the data directory keeps it; one built again does not);
    a clone of the template holds the probe table."""
    env, state = await prepare_run(settings)
    try:
        conn = await asyncpg.connect(env.endpoints.postgres)
        try:
            oid = await conn.fetchval("SELECT oid FROM pg_database WHERE datname = $1", state.template)
            clone = f"{state.template}_probe"
            await clone_database(conn, state.template, clone)
            db = await asyncpg.connect(env.endpoints.postgres_dsn(clone))
            assert await db.fetchval("SELECT count(*) FROM snapshot_probe") == 0
            await db.close()
        finally:
            await conn.close()
        return state.template_built, env.from_snapshot, int(oid)
    finally:
        await env.close()


def cache(settings: Settings, command: str) -> str:
    """`harness cache <command>`'s output over `settings`' initdb cache (it must succeed)."""
    result = harness("cache", command, env={"HARNESS_INITDB_CACHE": str(settings.initdb_cache)})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
