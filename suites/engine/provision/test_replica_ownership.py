"""A replica is the run's like its primary: a SIGKILLed owner's replica ends (embedded: by its
death signal; docker: `harness gc`), and a normal close removes it with the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import asyncpg

from harness.config import Settings
from harness.provision import open_environment
from harness.provision.gc import collect_garbage
from harness.provision.registry import EnvRecord
from harness.provision.replica import start_replica
from suites.engine.provision.remains import ROOT, marked_servers, nothing_left, opened_directory, wait_until

OWNER = textwrap.dedent("""
    import asyncio, sys
    from harness.config import Settings
    from harness.provision import open_environment
    from harness.provision.replica import start_replica

    async def main():
        settings = Settings()
        env = await open_environment(settings)
        await start_replica(env, settings)
        print(env.directory, flush=True)

    asyncio.run(main())
    sys.stdin.read()
""")


def test_a_sigkilled_owners_replica_ends_with_its_primary(isolated_settings: Settings) -> None:
    env = {**os.environ, **isolated_settings.as_environment(), "PYTHONPATH": str(ROOT)}
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    directory = opened_directory(owner)
    record = EnvRecord.load(directory)
    assert len(record.processes) + len(record.containers) == 3  # primary, redis, replica
    owner.kill()
    owner.wait()
    if record.containers:  # containers outlive their owner until gc finds them orphaned
        collect_garbage(isolated_settings.state_dir, str(isolated_settings.project_root))
    wait_until(lambda: nothing_left(record), "primary, replica and redis to end", isolated_settings.hang_timeout)
    assert marked_servers(isolated_settings.state_dir) == []


async def test_closing_the_environment_removes_its_replica(isolated_settings: Settings) -> None:
    env = await open_environment(isolated_settings)
    try:
        replica = await start_replica(env, isolated_settings)
        conn = await asyncpg.connect(replica.dsn)
        try:
            assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
        finally:
            await conn.close()
        record = EnvRecord.load(env.directory)
        assert len(record.processes) + len(record.containers) == 3
    finally:
        await env.close()
    assert nothing_left(record)
    assert marked_servers(isolated_settings.state_dir) == []
