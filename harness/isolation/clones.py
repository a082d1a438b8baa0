"""Ready clones of the template, made ahead of demand, reused when a test wrote nothing (the
IntegreSQL ideas).

A clone costs tens of milliseconds; a test should not wait for one. A background thread keeps
`size` clones ready, so handing out a database is a queue pop. A clone handed back goes to the same
thread, which reuses it when the server shows the test changed nothing (`harness.isolation.reuse`)
and drops it otherwise; past a small backlog, dropping goes first, so a long suite's disk use stays
flat.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg

from harness.errors import ProvisionError
from harness.isolation.reuse import (
    Footprint,
    SequenceValues,
    claim_spare,
    park_spares,
    rename_when_alone,
    reuse_refused,
    sequence_values,
    wait_until_left,
)
from harness.isolation.template import clone_database
from harness.provision.databases import drop_database, quote_identifier

WAKE_INTERVAL = 0.5
# Clones found written waiting to be dropped before a drop goes ahead of the next clone. Without a
# bound, tests that take clones as fast as they are made left hundreds of used ones on tmpfs (800
# tests: 417 clones, 3.9 GB); with it, the pool's databases stay at `size` + this + the ones in use.
USED_BACKLOG = 2
# Every clone copies the template's rows of the shared catalog pg_shdepend (its grants and owners)
# and every drop deletes them; autovacuum fell behind: over 2,700 tests `global/` grew from 1.6 to
# 35.6 MB. Vacuuming the shared catalogs the pool churns every this many drops keeps them flat.
SHARED_VACUUM_EVERY = 100


class ClonePool:
    """Clones of `template` named `<template>_<tag>_<n>`, kept `size` ahead of demand; a clone that
    comes back unwritten is renamed to the next `<n>` and handed out again (`reuse=False`: every
    clone is dropped after one use). `on_handback(name)` runs in the pool's thread for every clone
    handed back, before it is judged (insight reads its table statistics there, off the tests' path).
    `spares` (servers reused by later runs): the pool takes the spares earlier runs left before it
    clones, and leaves up to that many of its ready clones as spares when it closes
    (`harness.isolation.reuse`); 0: neither.
    Waits for the pool are hang guards: `hang_timeout` seconds unless a call says otherwise."""

    def __init__(
        self,
        admin_dsn: str,
        template: str,
        tag: str,
        size: int,
        hang_timeout: float = 120.0,
        reuse: bool = True,
        on_handback: Callable[[str], Awaitable[None]] | None = None,
        spares: int = 0,
    ) -> None:
        self.admin_dsn = admin_dsn
        self.template = template
        self.prefix = f"{template}_{tag}_"
        self.size = size
        self.hang_timeout = hang_timeout
        self.reuse = reuse
        self.on_handback = on_handback
        self.spares = spares
        self.claimed = 0  # spares of earlier runs handed out (read by tests and benchmarks)
        self._drops = 0
        self.reused = 0  # clones handed back and handed out again (read by tests and benchmarks)
        self._ready: queue.Queue[str] = queue.Queue()
        self._used: queue.Queue[str] = queue.Queue()
        self._renewals: queue.Queue[tuple[str, threading.Event]] = queue.Queue()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._drop_on_close = True
        self._failure: BaseException | None = None
        self._names = (f"{self.prefix}{n}" for n in itertools.count())
        # the pool thread's own: each ready clone's footprint, and the template's sequences
        self._footprints: dict[str, Footprint] = {}
        self._sequences: SequenceValues | None = None
        self._cloned = False  # whether a reusable clone was made (the next one reads the sequences)
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
        """Block until the pool is full and every handed-back clone is reused or dropped: nothing of
        the pool's (CREATE DATABASE checkpoints, drops) runs beside a measurement that starts now."""
        self._wait(lambda: not self._used.unfinished_tasks and self._ready.qsize() >= self.size, "settle", timeout)

    def _wait(self, done: Callable[[], bool], what: str, timeout: float | None, poll: float = 0.005) -> None:
        timeout = self.hang_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not done():
            if self._failure is not None or time.monotonic() > deadline:
                raise ProvisionError(f"the clone pool of {self.template} did not {what} in {timeout:.0f}s")
            time.sleep(poll)

    def release(self, name: str) -> None:
        """Hand a used database back, to be reused or dropped in the background."""
        self._used.put(name)
        self._wake.set()

    def renew(self, name: str) -> None:
        """Replace database `name`, which a test wrote to, with a new clone under the same name
        (those who hold its DSN keep a valid one); blocks until done."""
        done = threading.Event()
        self._renewals.put((name, done))
        self._wake.set()
        self._wait(done.is_set, f"renew {name}", None)

    def close(self, drop: bool = True) -> None:
        """Drop every clone this pool made, used or not, and stop the thread; `drop=False` when
        the server is deleted with its data right after (a run's own embedded server): the
        drops (each a checkpoint and a directory removed) would be thrown away with it."""
        self._drop_on_close = drop
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
        doomed: deque[str] = deque()  # handed back, found written, not dropped yet
        try:
            refused = await reuse_refused(admin) if self.reuse else "reuse is off"
            looking = bool(self.spares) and refused is None  # for spares, until none is left
            while not self._closing.is_set():
                if not self._renewals.empty():
                    await self._renew(admin, *self._renewals.get_nowait())
                elif not self._used.empty():
                    kept, name = (False, await self._handed_back(self._used.get_nowait()))
                    if refused is None:
                        kept, name = await self._reclaim(admin, name)
                    if kept:
                        self.reused += 1
                        self._ready.put(name)
                        self._used.task_done()
                    else:
                        doomed.append(name)
                elif doomed and (len(doomed) > USED_BACKLOG or self._ready.qsize() >= self.size):
                    await self._drop(admin, doomed.popleft())
                    self._used.task_done()
                elif self._ready.qsize() < self.size:
                    name = next(self._names)
                    looking = looking and await self._claim(admin, name)
                    if not looking:
                        await self._clone(admin, name, refused is None)
                    self._ready.put(name)
                else:
                    self._wake.wait(WAKE_INTERVAL)
                    self._wake.clear()
            while not self._used.empty():  # handed back at the end: read (on_handback) whether dropped or not
                doomed.append(await self._handed_back(self._used.get_nowait()))
            if not self._drop_on_close:
                return
            ready = []
            while not self._ready.empty():
                ready.append(self._ready.get_nowait())
            if self.spares and refused is None and ready:
                if self._sequences is None:  # only one clone was made: a ready one holds the template's
                    self._sequences = await sequence_values(self.admin_dsn, ready[0])
                sealable = {name: self._footprints[name] for name in ready if name in self._footprints}
                left = await park_spares(admin, self.template, sealable, self._sequences, self.spares)
                parked = set(sealable) - set(left)
                ready = [name for name in ready if name not in parked]
            doomed.extend(ready)
            while doomed:
                await self._drop(admin, doomed.popleft())
        finally:
            await admin.close()

    async def _handed_back(self, name: str) -> str:
        if self.on_handback is not None:
            await self.on_handback(name)
        return name

    async def _clone(self, admin: asyncpg.Connection, name: str, reusable: bool) -> str:
        await clone_database(admin, self.template, name)
        if reusable:
            self._footprints[name] = await Footprint.read(admin, name)
            # the template's sequences, as every clone holds them before a test: read in the second
            # clone, so that the first (what the run's first test waits for) needs no connection of its own
            if self._sequences is None and self._cloned:
                self._sequences = await sequence_values(self.admin_dsn, name)
            self._cloned = True
        return name

    async def _claim(self, admin: asyncpg.Connection, name: str) -> bool:
        """Whether a spare of an earlier run is now ready as `name`."""
        claimed = await claim_spare(admin, self.admin_dsn, self.template, name)
        if claimed is None:
            return False
        self._footprints[name], sequences = claimed
        if self._sequences is None:
            self._sequences = sequences
        self.claimed += 1
        return True

    async def _reclaim(self, admin: asyncpg.Connection, name: str) -> tuple[bool, str]:
        """(True, its new name) when clone `name` may be handed out again, else (False, its name)."""
        before = self._footprints.pop(name, None)
        if before is None or await wait_until_left(admin, name) != before:
            return False, name  # never to be reused, still in use, or its writes already show
        renamed = next(self._names)
        if not await rename_when_alone(admin, name, renamed):
            return False, name
        after = await Footprint.read(admin, renamed)
        if (
            after != before
            or self._sequences is None  # not read yet: a clone handed back before the second was made
            or (self._sequences and await sequence_values(self.admin_dsn, renamed) != self._sequences)
        ):
            return False, renamed
        self._footprints[renamed] = after
        return True, renamed

    async def _renew(self, admin: asyncpg.Connection, name: str, done: threading.Event) -> None:
        try:
            fresh = self._ready.get_nowait()
        except queue.Empty:
            fresh = await self._clone(admin, next(self._names), False)
        self._footprints.pop(fresh, None)  # renamed, it is the worker's: never reused
        await self._drop(admin, name)
        await admin.execute(f"ALTER DATABASE {quote_identifier(fresh)} RENAME TO {quote_identifier(name)}")
        done.set()

    async def _drop(self, admin: asyncpg.Connection, name: str) -> None:
        """Drop `name`, rolling back first any transaction a test prepared there (DROP DATABASE
        refuses a database with prepared transactions, and only a session in it can end them)."""
        gids = [row[0] for row in await admin.fetch("SELECT gid FROM pg_prepared_xacts WHERE database = $1", name)]
        if gids:
            conn = await asyncpg.connect(self.admin_dsn, database=name)
            try:
                for gid in gids:
                    await conn.execute("ROLLBACK PREPARED '" + gid.replace("'", "''") + "'")
            finally:
                await conn.close()
        self._footprints.pop(name, None)
        await drop_database(admin, name)
        self._drops += 1
        if self._drops % SHARED_VACUUM_EVERY == 0:
            await admin.execute("VACUUM pg_catalog.pg_shdepend, pg_catalog.pg_database")
