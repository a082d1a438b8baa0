"""Faults on a running environment: stop, start, restart, pause, and cutting every client off.

Every backend supplies a `ServerControl` per server; cutting connections is done through the
servers themselves and so is the same on every backend.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import asyncpg
import psutil

from harness.errors import ProvisionError
from harness.provision.endpoints import Endpoints

STOP_TIMEOUT = 60.0  # a hang guard: a SIGSTOPped process stops as soon as the kernel next runs it
STOP_POLL = 0.001

# The watchman of a frozen server: it reads "pid:start" (the start time in clock ticks, field 22 of
# /proc/<pid>/stat) as each process is stopped and exits on "thawed"; at end of input without it
# (the owner died: its end of the pipe closed) it continues those that are still the same process.
WATCHMAN = (
    'entries=; while read -r line; do [ "$line" = thawed ] && exit 0; entries="$entries $line"; done; '
    "for entry in $entries; do pid=${entry%:*}; stat=$(cat /proc/$pid/stat 2>/dev/null) || continue; "
    'set -- ${stat##*\') \'}; [ "${20}" = "${entry#*:}" ] && kill -CONT "$pid"; done; exit 0'
)


class ServerControl(Protocol):
    """The process-level levers one backend has over one server."""

    async def stop(self, immediate: bool) -> None: ...

    async def start(self) -> None:
        """Start the server again on the same address; return once it serves."""

    async def pause(self) -> None: ...

    async def unpause(self) -> None: ...


class FrozenProcesses:
    """A process and its descendants SIGSTOPped (a server's pause on the embedded backend), watched
    by a small process of its own that SIGCONTs them if their owner dies first: a stopped server
    would otherwise hold its death signal (or gc's SIGQUIT) unacted on, forever."""

    def __init__(self, leader: psutil.Process) -> None:
        """Returns once every process has stopped: SIGSTOP takes effect when the kernel next runs
        the process, and a leader not yet stopped could still fork a child the list below misses."""
        self.watchman = subprocess.Popen(
            ["sh", "-c", WATCHMAN], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, text=True,
        )  # fmt: skip
        self.deadline = time.monotonic() + STOP_TIMEOUT
        self._stop(leader)  # first, so it forks no new child meanwhile
        _wait_stopped(leader, self.deadline)
        children = leader.children(recursive=True)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess, FileNotFoundError):  # a backend that just ended
                self._stop(child)
        for child in children:
            _wait_stopped(child, self.deadline)

    def _stop(self, proc: psutil.Process) -> None:
        assert self.watchman.stdin is not None
        # before the stop: the watchman knows all it may have to continue
        self.watchman.stdin.write(f"{proc.pid}:{_start_ticks(proc.pid)}\n")
        self.watchman.stdin.flush()
        proc.suspend()

    def dismiss(self) -> None:
        """Send the watchman away (its processes were continued, or are gone)."""
        if self.watchman.returncode is None and self.watchman.stdin is not None:
            try:
                self.watchman.stdin.write("thawed\n")
                self.watchman.stdin.close()
            except OSError:
                pass  # it is gone already
            self.watchman.wait()


def _wait_stopped(proc: psutil.Process, deadline: float) -> None:
    """Until `proc` is stopped (or gone): polled, as the kernel tells no one."""
    while True:
        try:
            if proc.status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP, psutil.STATUS_ZOMBIE):
                return
        except psutil.NoSuchProcess:
            return
        if time.monotonic() > deadline:
            raise ProvisionError(f"process {proc.pid} did not stop within {STOP_TIMEOUT:.0f}s of SIGSTOP")
        time.sleep(STOP_POLL)


def _start_ticks(pid: int) -> str:
    """When `pid` started, as /proc/<pid>/stat has it (after the command's name, which may hold spaces)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[19]


class ServerFaults:
    """Faults on one server."""

    def __init__(self, control: ServerControl) -> None:
        self._control = control

    async def stop(self, *, immediate: bool = False) -> None:
        """Fast shutdown, or immediate (crash-like: no checkpoint) when `immediate`."""
        await self._control.stop(immediate)

    async def start(self) -> None:
        await self._control.start()

    async def restart(self, *, immediate: bool = False) -> None:
        await self._control.stop(immediate)
        await self._control.start()

    async def pause(self) -> None:
        """Freeze the server: connections stay open, nothing answers."""
        await self._control.pause()

    async def unpause(self) -> None:
        await self._control.unpause()

    @asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        await self.pause()
        try:
            yield
        finally:
            await self.unpause()


class PostgresFaults(ServerFaults):
    def __init__(self, control: ServerControl, admin_dsn: str) -> None:
        super().__init__(control)
        self._admin_dsn = admin_dsn

    async def terminate_connections(self) -> int:
        """Terminate every client backend but our own; return how many were cut."""
        conn = await asyncpg.connect(self._admin_dsn)
        try:
            rows = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
            return sum(1 for row in rows if row[0])
        finally:
            await conn.close()


class RedisFaults(ServerFaults):
    def __init__(self, control: ServerControl, admin_url: str) -> None:
        super().__init__(control)
        self._admin_url = admin_url

    async def terminate_connections(self) -> int:
        """Kill every normal client connection but our own; return how many were cut."""
        import redis.asyncio as aioredis  # start-up: redis (every command imports this package)

        client = aioredis.Redis.from_url(self._admin_url)
        try:
            return int(await client.client_kill_filter(_type="normal", skipme=True))
        finally:
            await client.aclose()


class Faults:
    """The faults API of one environment: `faults.postgres.restart()`, `faults.redis.pause()`, …"""

    def __init__(self, endpoints: Endpoints, postgres: ServerControl, redis: ServerControl) -> None:
        self.postgres = PostgresFaults(postgres, endpoints.postgres)
        self.redis = RedisFaults(redis, endpoints.redis)
