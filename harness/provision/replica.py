"""A streaming replica of an environment's primary, its lag, and failover to it.

Embedded: the primary restarts once with WAL for replication (a run without replicas keeps
`wal_level=minimal` and pays nothing), `pg_basebackup -R` copies it into the environment's
`replica/`, and a second postgres serves the copy as a hot standby. Docker: the primary's pg_hba
admits replication from other containers, and a second container of the same image takes its base
backup over the bridge network before it starts. Either way the replica is in the environment's
record (a process or a container) and carries its markers, so a killed run's death signal and
`harness gc` remove it with the rest.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import asyncpg

from harness.config import Settings
from harness.errors import ProvisionError
from harness.provision.endpoints import redact, with_database
from harness.provision.environment import Environment
from harness.provision.faults import ServerControl, ServerFaults
from harness.provision.waiting import postgres_answers, wait_for

if TYPE_CHECKING:
    from harness.provision.containers import DockerEnvironment, DockerServer
    from harness.provision.embedded import EmbeddedEnvironment, EmbeddedPostgres

# what a primary and its standby need beyond the test tuning (wal_level=minimal, no WAL senders)
REPLICATION_SETTINGS = {"wal_level": "replica", "max_wal_senders": "4", "hot_standby": "on"}
# the docker primary admits replication from loopback only (initdb's default): the replica is elsewhere
REPLICATION_HBA = "host replication all all scram-sha-256"
REPLICA_DIR = "replica"
# the first streaming replica's lag, asked of its primary: (bytes not yet replayed, replay_lag seconds);
# from the insert position, which counts asynchronous commits still in the WAL buffers
LAG_SQL = (
    "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), replay_lsn)::bigint AS bytes,"
    " extract(epoch FROM replay_lag)::float8 AS seconds"
    " FROM pg_stat_replication WHERE state = 'streaming' LIMIT 1"
)
POLL_SECONDS = 0.001  # time-to-visible polls this often: its figure is milliseconds


@dataclass(frozen=True)
class Lag:
    """How far the replica is behind, as the primary sees it (`pg_stat_replication`)."""

    bytes: int  # WAL the primary wrote that the replica has not replayed yet
    replay_seconds: float | None  # replay_lag: None when no WAL flowed lately (the view clears it)


class Replica(ABC):
    """A hot standby streaming from the environment's primary: its admin DSN, promotion, stop, and
    its own faults (`replica.faults.pause()`, …)."""

    def __init__(self, env: Environment, dsn: str, control: ServerControl, synchronous: bool, timeout: float) -> None:
        self.env = env
        self.dsn = dsn
        self.faults = ServerFaults(control)
        self.synchronous = synchronous
        self.timeout = timeout

    def postgres_dsn(self, database: str) -> str:
        return with_database(self.dsn, database)

    async def promote(self) -> None:
        """End recovery: the replica becomes a primary that takes writes (`pg_promote`, waited for)."""
        conn = await asyncpg.connect(self.dsn, timeout=self.timeout)
        try:
            if not await conn.fetchval("SELECT pg_promote(true, $1)", round(self.timeout)):
                raise ProvisionError(f"replica at {redact(self.dsn)} did not finish promotion in {self.timeout:.0f}s")
        finally:
            await conn.close()

    async def fail_over(self) -> float:
        """The primary killed (immediate shutdown: no checkpoint, as a crash), this replica
        promoted; seconds from the kill until the replica takes writes."""
        started = time.perf_counter()
        await self.env.faults.postgres.stop(immediate=True)
        await self.promote()
        return time.perf_counter() - started

    async def stop(self) -> None:
        """Stop and remove the replica (its record entry and its data too, so another replica can
        take its place); the primary runs on, no longer waiting for a synchronous standby (its
        commits would wait forever). Idempotent."""
        if self.synchronous:
            await _make_asynchronous(self.env.endpoints.postgres, self.timeout)
        await self._remove()

    @abstractmethod
    async def _remove(self) -> None:
        """Stop the replica's server and take it out of the environment's record."""

    async def __aenter__(self) -> Replica:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.dsn)!r}, synchronous={self.synchronous})"


async def start_replica(env: Environment, settings: Settings, *, synchronous: bool = False) -> Replica:
    """A replica of `env`'s running primary, streaming once this returns. `synchronous`: every
    commit on the primary waits until the replica has applied it (`remote_apply`), so an
    acknowledged write survives the primary's loss."""
    timeout = settings.hang_timeout
    replica: Replica
    if env.endpoints.backend == "embedded":
        from harness.provision.embedded import EmbeddedEnvironment  # start-up: redis (the backends)

        assert isinstance(env, EmbeddedEnvironment)
        replica = await _start_embedded(env, settings, synchronous)
    elif env.endpoints.backend == "docker":
        from harness.provision.containers import DockerEnvironment  # start-up: redis (the backends)

        assert isinstance(env, DockerEnvironment)
        replica = await _start_container(env, settings, synchronous)
    else:
        raise ProvisionError(
            f"a replica needs servers the harness starts (--backend embedded or docker), not {env.endpoints.backend}"
        )
    try:
        await _wait_streaming(env.endpoints.postgres, synchronous, timeout)
    except BaseException:
        await replica.stop()
        raise
    return replica


async def _wait_streaming(primary_dsn: str, synchronous: bool, timeout: float) -> None:
    """The primary sees the replica streaming (and, when asked, as its synchronous standby)."""
    conn = await asyncpg.connect(primary_dsn, timeout=timeout)
    try:
        if synchronous:
            # ALTER SYSTEM after the base backup, so a promoted replica waits for no standby of its
            # own; ALTER ROLE ALL outranks the command line's synchronous_commit (sessions opened later)
            await conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            await conn.execute("ALTER ROLE ALL SET synchronous_commit = 'remote_apply'")
            await conn.execute("SELECT pg_reload_conf()")
        wanted = "sync" if synchronous else "async"

        async def streaming() -> bool:
            state = await conn.fetchval("SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming' LIMIT 1")
            return bool(state == wanted)

        await wait_for(streaming, f"a {wanted} replica streaming from {redact(primary_dsn)}", timeout)
    finally:
        await conn.close()


async def _make_asynchronous(primary_dsn: str, timeout: float) -> None:
    """Undo `_wait_streaming`'s synchronous settings on a primary that still runs (after a failover
    it is gone, and there is nothing to undo)."""
    try:
        conn = await asyncpg.connect(primary_dsn, timeout=timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError):
        return
    try:
        await conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
        await conn.execute("ALTER ROLE ALL RESET synchronous_commit")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def replication_lag(primary: asyncpg.Connection) -> Lag:
    """The replica's lag now, in WAL bytes not yet replayed and in replay time, asked of a
    connection to the primary (a sampler keeps one open)."""
    row = await primary.fetchrow(LAG_SQL)
    if row is None:
        raise ProvisionError("no replica streams from this primary")
    return Lag(int(row["bytes"] or 0), row["seconds"])


async def time_to_visible(primary: asyncpg.Connection, replica: asyncpg.Connection, timeout: float) -> float:
    """Seconds until `replica` has replayed all the WAL `primary` had inserted when called: how long
    a write committed just before takes to become visible on the replica. The insert position, not
    the write position (`pg_current_wal_lsn`): an asynchronous commit's record waits in the WAL
    buffers for the WAL writer, and a replica that replayed up to the write position lacks it."""
    lsn = await primary.fetchval("SELECT pg_current_wal_insert_lsn()::text")
    started = time.perf_counter()
    while not await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
        if time.perf_counter() - started > timeout:
            raise ProvisionError(f"the replica did not replay up to {lsn} within {timeout:.0f}s")
        await asyncio.sleep(POLL_SECONDS)
    return time.perf_counter() - started


class ProcessReplica(Replica):
    """The embedded backend's replica: a postgres child process in the environment's `replica/`."""

    def __init__(self, env: Environment, server: EmbeddedPostgres, synchronous: bool, timeout: float) -> None:
        super().__init__(env, server.dsn, server, synchronous, timeout)
        self.server = server

    async def _remove(self) -> None:
        ref = self.server.child.ref
        await self.server.stop(immediate=True)
        if ref in self.env.record.processes:
            self.env.record.processes.remove(ref)
            self.env.record.save(self.env.directory)
        await asyncio.to_thread(shutil.rmtree, self.env.directory / REPLICA_DIR, True)  # room for another replica


async def _start_embedded(env: EmbeddedEnvironment, settings: Settings, synchronous: bool) -> Replica:
    from harness.provision.embedded import SUPERUSER, EmbeddedPostgres, free_port  # start-up: redis (the backends)

    primary = env.postgres
    if primary.extra_settings != REPLICATION_SETTINGS:
        port = primary.port
        primary.extra_settings = REPLICATION_SETTINGS
        await primary.stop(immediate=False)
        await primary.start()
        env.record.processes = [ref for ref in (primary.child.ref, env.redis.child.ref) if ref is not None]
        env.record.save(env.directory)
        if primary.port != port:
            raise ProvisionError(f"the primary came back on port {primary.port}, not {port}: its endpoints are stale")
    directory = env.directory / REPLICA_DIR
    if directory.exists():
        raise ProvisionError(f"environment {env.directory.name} has a replica already: one replica per environment")
    directory.mkdir(mode=0o700)
    server = EmbeddedPostgres(directory, free_port(), primary.password, env.record, settings)
    server.cache = None  # its data comes from the primary, not from initdb
    server.extra_settings = REPLICATION_SETTINGS
    server.child.own(directory)
    data = directory / "data"
    data.mkdir(mode=0o700)
    server.child.own(data)
    argv = [str(server.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER,
            "-D", str(data), "-R", "-X", "stream", "-c", "fast", "--no-sync"]  # fmt: skip
    result = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, check=False, preexec_fn=server.prepare_utility,
        env={**os.environ, "PGPASSWORD": primary.password},
    )  # fmt: skip
    if result.returncode != 0:
        raise ProvisionError(f"pg_basebackup from port {primary.port} failed: {result.stderr.strip()}")
    try:
        await server.start()
    except BaseException:
        await server.stop(immediate=True)
        raise
    if server.child.ref is not None:  # it started, so it has one
        env.record.processes.append(server.child.ref)
    env.record.save(env.directory)
    return ProcessReplica(env, server, synchronous, settings.hang_timeout)  # its DSN: the port it serves on


class ContainerReplica(Replica):
    """The docker backend's replica: a container of the primary's image, labelled like it."""

    def __init__(self, env: Environment, server: DockerServer, dsn: str, synchronous: bool, timeout: float) -> None:
        super().__init__(env, dsn, server, synchronous, timeout)
        self.container_id = server.container.id

    async def _remove(self) -> None:
        from harness.provision.containers import remove_containers  # start-up: redis (the backends)

        await asyncio.to_thread(remove_containers, [self.container_id])  # hands its data back first
        if self.container_id in self.env.record.containers:
            self.env.record.containers.remove(self.container_id)
            self.env.record.save(self.env.directory)
        data = self.env.directory / f"{REPLICA_DIR}-pgdata"
        await asyncio.to_thread(shutil.rmtree, data, True)  # room for another replica


def _replica_script(primary_host: str) -> str:
    """The replica container's start: PGDATA made postgres's, the base backup taken as postgres,
    then the image's entrypoint, which finds PGDATA initialised and execs postgres as PID 1."""
    return (
        'set -e; mkdir -p "$PGDATA"; chown postgres:postgres "$PGDATA"; chmod 0700 "$PGDATA"; '
        "setpriv --reuid=postgres --regid=postgres --init-groups "
        f'pg_basebackup -h {shlex.quote(primary_host)} -U postgres -D "$PGDATA" -R -X stream -c fast; '
        'exec docker-entrypoint.sh "$@"'
    )


def _admit_replication(container: Any) -> None:
    """Append the replication line to the primary's pg_hba.conf (reloaded by the caller)."""
    line = shlex.quote(REPLICATION_HBA)
    exit_code, output = container.exec_run(["sh", "-c", f'echo {line} >> "$PGDATA/pg_hba.conf"'], user="postgres")
    if exit_code != 0:
        raise ProvisionError(f"could not admit replication in {container.name}: {output.decode(errors='replace')}")


async def _start_container(env: DockerEnvironment, settings: Settings, synchronous: bool) -> Replica:
    from harness.provision.containers import (  # start-up: redis (the backends)
        PG_DATA,
        ContainerSpec,
        DockerServer,
        bind,
        container_labels,
        docker_client,
        published_host,
        start_published,
    )

    data = env.directory / f"{REPLICA_DIR}-pgdata"
    if data.exists():
        raise ProvisionError(f"environment {env.directory.name} has a replica already: one replica per environment")
    primary = env.postgres.container
    await asyncio.to_thread(_admit_replication, primary)
    conn = await asyncpg.connect(env.endpoints.postgres, timeout=settings.hang_timeout)
    try:
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    await asyncio.to_thread(primary.reload)
    primary_host = primary.attrs["NetworkSettings"]["IPAddress"]
    password = urlsplit(env.endpoints.postgres).password or ""
    data.mkdir(mode=0o700)
    spec = ContainerSpec(
        settings.pg_image, 5432, container_labels(env.record, env.directory), "SIGINT",
        ["bash", "-c", _replica_script(primary_host), "replica", *primary.attrs["Config"]["Cmd"]],
        environment={"PGPASSWORD": password, "PGDATA": PG_DATA}, volumes=bind(data, PG_DATA),
    )  # fmt: skip
    # on another port if its first was taken
    container = await asyncio.to_thread(start_published, docker_client(), spec)
    env.record.containers.append(container.id)  # as soon as it exists, for gc
    env.record.save(env.directory)
    dsn = f"postgresql://postgres:{password}@{published_host()}:{spec.host_port}/postgres"
    answers, what = (lambda: postgres_answers(dsn)), f"replica container on port {spec.host_port}"
    server = DockerServer(container, "SIGQUIT", answers, what, settings.hang_timeout)
    replica = ContainerReplica(env, server, dsn, synchronous, settings.hang_timeout)
    try:
        await server.wait_serving()
    except BaseException:
        await replica.stop()
        raise
    return replica
