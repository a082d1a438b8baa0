"""`harness up --replica`: a primary and its streaming replica, the replica's URL printed with the
others and handed out by `harness env`; `harness down` removes both."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg

from harness.provision.registry import EnvRecord
from harness.provision.replica import time_to_visible
from suites.engine.cli.commands import harness
from suites.engine.provision.remains import marked_servers, nothing_left


def up_record(env: dict[str, str]) -> EnvRecord:
    (directory,) = Path(env["HARNESS_STATE_DIR"]).glob("up-*/")
    return EnvRecord.load(directory)


async def test_up_with_a_replica_hands_out_its_url_and_down_removes_it(
    state_env: dict[str, str], hang_timeout: float
) -> None:
    env = {**state_env, "HARNESS_UP_SEED": ""}
    up = harness("up", "--detach", "--replica", env=env)
    assert up.returncode == 0, up.stderr
    printed = dict(line.split("=", 1) for line in up.stdout.splitlines() if "_URL=" in line)
    assert printed["REPLICA_DATABASE_URL"].startswith("postgresql://postgres:***@")
    record = up_record(env)
    assert len(record.processes) + len(record.containers) == 3  # primary, redis, replica

    exported = harness("env", "--format", "json", env=env)
    assert exported.returncode == 0, exported.stderr
    urls = json.loads(exported.stdout)
    assert urls["REPLICA_DATABASE_URL"] != urls["DATABASE_URL"]
    primary = await asyncpg.connect(urls["DATABASE_URL"])
    replica = await asyncpg.connect(urls["REPLICA_DATABASE_URL"])
    try:
        assert await replica.fetchval("SELECT pg_is_in_recovery()") is True
        assert await replica.fetchval("SELECT current_database()") == await primary.fetchval(
            "SELECT current_database()"
        )
        await primary.execute("CREATE TABLE streamed (id int); INSERT INTO streamed VALUES (7)")
        await time_to_visible(primary, replica, hang_timeout)
        assert await replica.fetchval("SELECT id FROM streamed") == 7
    finally:
        await asyncio.gather(primary.close(), replica.close())

    again = harness("up", "--detach", "--replica", env=env)  # attaches: the same replica, not a second
    assert again.returncode == 0, again.stderr
    assert json.loads(harness("env", "--format", "json", env=env).stdout) == urls

    down = harness("down", env=env)
    assert down.returncode == 0, down.stderr
    assert nothing_left(record)
    assert marked_servers(Path(env["HARNESS_STATE_DIR"])) == []


def test_up_with_a_replica_on_the_external_backend_is_refused_in_one_line(state_env: dict[str, str]) -> None:
    up = harness("up", "--detach", "--replica", env={**state_env, "HARNESS_BACKEND": "external"})
    assert up.returncode == 2
    assert up.stderr.strip().splitlines() == [
        "error: --replica needs servers the harness starts (--backend embedded or docker), not external"
    ]
