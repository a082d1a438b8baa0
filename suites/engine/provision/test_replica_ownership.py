"""A replica is the run's like its primary: a SIGKILLed owner's replica ends (embedded: by its
death signal; docker: `harness gc`), and a normal close removes it with the environment. So do
servers a fault froze (SIGSTOP; docker: paused): a stopped process acts on no termination signal."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import asyncpg
import psutil
import pytest

from harness.config import Settings
from harness.provision import open_environment
from harness.provision.gc import collect_garbage, remove_environment_files
from harness.provision.registry import EnvRecord, process_tree
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
        replica = await start_replica(env, settings)
        if sys.argv[1] == "frozen":
            for faults in (env.faults.postgres, env.faults.redis, replica.faults):
                await faults.pause()
        print(env.directory, flush=True)
        return env, replica

    held = asyncio.run(main())  # held to the end: a dropped pause would let its watchman continue the servers
    sys.stdin.read()
""")


@pytest.mark.parametrize("servers", ["running", "frozen"])
def test_a_sigkilled_owners_replica_ends_with_its_primary(isolated_settings: Settings, servers: str) -> None:
    env = {**os.environ, **isolated_settings.as_environment(), "PYTHONPATH": str(ROOT)}
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, servers], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        cwd=ROOT,
    )  # fmt: skip
    directory = opened_directory(owner)
    record = EnvRecord.load(directory)
    assert len(record.processes) + len(record.containers) == 3  # primary, redis, replica
    if servers == "frozen":
        wait_until(lambda: frozen(record), "every server to stop", isolated_settings.hang_timeout)
    owner.kill()
    owner.wait()
    if record.containers:  # containers outlive their owner until gc finds them orphaned
        collect_garbage(isolated_settings.state_dir, str(isolated_settings.project_root))
    wait_until(lambda: nothing_left(record), "primary, replica and redis to end", isolated_settings.hang_timeout)
    assert marked_servers(isolated_settings.state_dir) == []


async def test_closing_an_environment_whose_servers_are_frozen_removes_them(isolated_settings: Settings) -> None:
    env = await open_environment(isolated_settings)
    try:
        replica = await start_replica(env, isolated_settings)
        for faults in (env.faults.postgres, env.faults.redis, replica.faults):
            await faults.pause()
        record = EnvRecord.load(env.directory)
    finally:
        await env.close()
    assert nothing_left(record)
    assert marked_servers(isolated_settings.state_dir) == []


async def test_gc_ends_a_frozen_postgres_and_its_frozen_backends(isolated_settings: Settings) -> None:
    """Frozen with no watchman (as if it were killed too): gc's SIGQUIT needs its SIGCONT, else the
    SIGKILL that follows ends the postmaster and leaves its stopped backends behind for good."""
    if isolated_settings.backend != "embedded":
        pytest.skip("processes are the embedded backend's; a paused container is covered above")
    env = await open_environment(isolated_settings)
    client = await asyncpg.connect(env.endpoints.postgres)  # a backend of its own process group
    record = EnvRecord.load(env.directory)
    try:
        frozen = [proc for ref in record.processes for proc in process_tree(ref.pid)]
        assert len(frozen) > len(record.processes)  # backends, and postgres's auxiliary processes
        for proc in frozen:
            proc.suspend()
        wait_until(
            lambda: {proc.status() for proc in frozen} == {psutil.STATUS_STOPPED}, "every process to stop",
            isolated_settings.hang_timeout,
        )  # fmt: skip
        remove_environment_files(env.directory, record)
        assert nothing_left(record)
        # a postmaster's immediate shutdown waits for its children: none outlives it, unless stopped
        assert [proc.pid for proc in frozen if not ended(proc)] == []
        assert marked_servers(isolated_settings.state_dir) == []
    finally:
        client.terminate()


def frozen(record: EnvRecord) -> bool:
    """Every server of `record` stopped (embedded) or paused (docker)."""
    if record.containers:
        from harness.provision.containers import docker_client

        client = docker_client()
        return all(client.containers.get(cid).status == "paused" for cid in record.containers)
    return all(psutil.Process(ref.pid).status() == psutil.STATUS_STOPPED for ref in record.processes)


def ended(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_a_pause_returns_once_every_process_of_the_server_has_stopped_and_a_close_removes_the_replica(
    isolated_settings: Settings,
) -> None:
    """SIGSTOP takes effect when the kernel next runs a process: a pause that returned before that
    left a backend answering, or a postmaster forking one its list of children missed. Unpaused, the
    replica serves again, and closing the environment removes it with the primary and redis."""
    env = await open_environment(isolated_settings)
    try:
        replica = await start_replica(env, isolated_settings)
        clients = [await asyncpg.connect(replica.dsn) for _ in range(3)]  # backends to stop as well
        await replica.faults.pause()
        record = EnvRecord.load(env.directory)
        assert len(record.processes) + len(record.containers) == 3  # primary, redis, replica
        if record.containers:
            from harness.provision.containers import docker_client

            assert docker_client().containers.get(record.containers[-1]).status == "paused"
        else:
            tree = process_tree(record.processes[-1].pid)
            assert len(tree) > len(clients)
            assert {proc.status() for proc in tree} == {psutil.STATUS_STOPPED}
        await replica.faults.unpause()
        assert [await client.fetchval("SELECT pg_is_in_recovery()") for client in clients] == [True] * 3
        await asyncio.gather(*(client.close() for client in clients))
    finally:
        await env.close()
    assert nothing_left(record)
    assert marked_servers(isolated_settings.state_dir) == []
