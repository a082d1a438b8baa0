"""Backups restore: pg_dump → pg_restore into a new database gives identical tables; a Redis
BGSAVE survives a crash of the server with keys and TTLs."""

from __future__ import annotations

import asyncio
import subprocess
import time

import redis.asyncio as aioredis

from betterprompts_db.data.postgres import DataLayer, PoolSettings, connect
from harness.provision.embedded import pg_bin_dir
from harness.pytest_plugin import Database, PrivateEnvironment
from suites.betterprompts.rollback.test_rollback import busy_unit_of_work, fingerprint


async def run(argv: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return await asyncio.to_thread(subprocess.run, argv, input=stdin, capture_output=True, check=False)


async def test_pg_dump_restores_into_a_new_database_with_identical_tables(
    data: DataLayer, owner_data: DataLayer, fresh_database: Database, blank_database: Database
) -> None:
    for _ in range(5):
        await busy_unit_of_work(data, "none")
    original = await fingerprint(owner_data)
    dump = await run([str(pg_bin_dir() / "pg_dump"), "--format=custom", "--dbname", fresh_database.dsn])
    assert dump.returncode == 0, dump.stderr.decode()
    restore = await run(
        [str(pg_bin_dir() / "pg_restore"), "--exit-on-error", "--dbname", blank_database.dsn], stdin=dump.stdout
    )
    assert restore.returncode == 0, restore.stderr.decode()
    restored = await connect(blank_database.dsn, PoolSettings(min_size=1, max_size=2))
    try:
        assert await fingerprint(restored) == original
        assert await restored.db.fetchval("v", "SELECT max(version) FROM harness.schema_migrations") == 8
    finally:
        await restored.close()


async def test_a_redis_bgsave_survives_a_crash_with_keys_and_ttls(
    private_environment: PrivateEnvironment, hang_timeout: float
) -> None:
    url = private_environment.endpoints.redis
    client = aioredis.Redis.from_url(url)
    await client.set("bp:temp:backup:plain", "kept")
    await client.set("bp:session:backup", "s", ex=3600)
    await client.hset("bp:flag:backup", mapping={"enabled": "1", "rollout": "30"})
    await client.bgsave(schedule=True)  # SCHEDULE: waits its turn behind an AOF rewrite
    deadline = time.monotonic() + hang_timeout
    while True:  # LASTSAVE has one-second resolution: watch the snapshot's own bookkeeping
        info = await client.info("persistence")
        if not info["rdb_bgsave_in_progress"] and info["rdb_changes_since_last_save"] == 0:
            break
        assert time.monotonic() < deadline, f"BGSAVE did not finish: {info}"
        await asyncio.sleep(0.02)
    assert info["rdb_last_bgsave_status"] == "ok"
    await client.aclose()
    await private_environment.faults.redis.restart(immediate=True)  # SIGKILL: no save at shutdown
    client = aioredis.Redis.from_url(url)
    try:
        assert await client.get("bp:temp:backup:plain") == b"kept"
        assert await client.hgetall("bp:flag:backup") == {b"enabled": b"1", b"rollout": b"30"}
        ttl = await client.ttl("bp:session:backup")
        assert 3500 < ttl <= 3600
        assert await client.ttl("bp:temp:backup:plain") == -1
    finally:
        await client.aclose()


def test_a_schema_dump_names_the_roles_a_restore_needs(fresh_database: Database) -> None:
    dump = subprocess.run(
        [str(pg_bin_dir() / "pg_dump"), "--schema-only", "--dbname", fresh_database.dsn],
        capture_output=True, check=True, text=True,
    )  # fmt: skip
    for role in ("bp_owner", "bp_app", "bp_readonly"):
        assert role in dump.stdout
