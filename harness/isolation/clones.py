"""Ready clones of the template, made ahead of demand (the IntegreSQL idea).

A clone costs tens of milliseconds; a test should not wait for one. A background thread keeps
`size` clones ready and drops used ones off the critical path, so handing out a database is a
queue pop; past a small backlog, dropping goes first, so a long suite's disk use stays flat.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections.abc import Callable

import asyncpg

from harness.errors import ProvisionError
from harness.isolation.template import clone_database
from harness.provision.databases import drop_database

WAKE_INTERVAL = 0.5
# Used clones waiting to be dropped before a drop goes ahead of the next clone. Without a bound,
# tests that take clones as fast as they are made left hundreds of used ones on tmpfs (800 tests:
# 417 clones, 3.9 GB); with it, the pool's databases stay at `size` + this + the ones in use.
USED_BACKLOG = 2


class ClonePool:
    """Clones of `template` named `<template>_<tag>_<n>`, kept `size` ahead of demand. Waits for
    the pool are hang guards: `hang_timeout` seconds unless a call says otherwise."""

    def __init__(self, admin_dsn: str, template: str, tag: str, size: int, hang_timeout: float = 120.0) -> None:
        self.admin_dsn = admin_dsn
        self.template = template
        self.prefix = f"{template}_{tag}_"
        self.size = size
        self.hang_timeout = hang_timeout
        self._ready: queue.Queue[str] = queue.Queue()
        self._used: queue.Queue[str] = queue.Queue()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._failure: BaseException | None = None
        self._names = (f"{self.prefix}{n}" for n in itertools.count())
        self._thread = threading.Thread(target=self._run, name=f"clone-pool-{tag}", daemon=True)

    def start(self) -> ClonePool:
        self._thread.start()
        return self

    def take(self, timeout: float | None = None) -> str:
        """A fresh database's name; blocks only when the pool has run dry."""
        timeout = self.hang_timeout if timeout is None else timeout
        while True:
            try:
                name = self._ready.get(timeout=min(timeout, 1.0))
                self._wake.set()
                return name
            except queue.Empty:
                if self._failure is not None:
                    raise ProvisionError(f"cloning {self.template} failed: {self._failure}") from self._failure
                timeout -= 1.0
                if timeout <= 0:
                    raise ProvisionError(f"no clone of {self.template} became ready in time") from None

    def wait_until_full(self, timeout: float | None = None) -> None:
        """Block until `size` clones are ready (benchmarks start each round from a full pool)."""
        self._wait(lambda: self._ready.qsize() >= self.size, "fill up", timeout, 0.001)

    def wait_until_idle(self, timeout: float | None = None) -> None:
        """Block until the pool is full and every released clone is dropped: nothing of the pool's
        (CREATE DATABASE checkpoints, drops) runs beside a measurement that starts now."""
        self._wait(lambda: not self._used.unfinished_tasks and self._ready.qsize() >= self.size, "settle", timeout)

    def _wait(self, done: Callable[[], bool], what: str, timeout: float | None, poll: float = 0.005) -> None:
        timeout = self.hang_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not done():
            if self._failure is not None or time.monotonic() > deadline:
                raise ProvisionError(f"the clone pool of {self.template} did not {what} in {timeout:.0f}s")
            time.sleep(poll)

    def release(self, name: str) -> None:
        """Hand a used database back to be dropped in the background."""
        self._used.put(name)
        self._wake.set()

    def close(self) -> None:
        """Drop every clone this pool made, used or not, and stop the thread."""
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the next take()
            self._failure = exc

    async def _serve(self) -> None:
        admin = await asyncpg.connect(self.admin_dsn)
        try:
            while not self._closing.is_set():
                backlog = self._used.qsize()
                if backlog and (backlog > USED_BACKLOG or self._ready.qsize() >= self.size):
                    await drop_database(admin, self._used.get_nowait())
                    self._used.task_done()
                    continue
                if self._ready.qsize() < self.size:
                    name = next(self._names)
                    await clone_database(admin, self.template, name)
                    self._ready.put(name)
                    continue
                self._wake.wait(WAKE_INTERVAL)
                self._wake.clear()
            for pending in (self._ready, self._used):
                while not pending.empty():
                    await drop_database(admin, pending.get_nowait())
        finally:
            await admin.close()
