"""Whether a clone a test handed back may be handed out again (IntegreSQL's idea), decided from the
server's own records, never from the test's word.

A clone is reused only when, once every backend that used it has gone, the server shows nothing
changed it since it was ready:
- its pg_stat_database tuple counters and their reset time: they count the database's own catalogs
  too, so DDL, temporary tables, large objects and ANALYZE show there, and rolled-back writes count;
- its rows in the shared catalogs those counters miss (counted under database 0): pg_database (owner,
  GRANTs, ALTER DATABASE options), pg_shdescription (COMMENT ON DATABASE), pg_db_role_setting (ALTER
  DATABASE/ROLE … SET); and no prepared transaction or replication slot of it;
- the values of the template's sequences (nextval and setval write no tuple), read inside the clone,
  only when the template has sequences.

When is "gone" safe to read the counters after? A backend flushes its pending statistics in a
before_shmem_exit hook (pgstat_shutdown_hook); it leaves pg_stat_activity in pgstat_beshutdown_hook,
a before_shmem_exit hook registered after the flush's on 15 and 16 (so it runs first: a backend can
vanish from pg_stat_activity with its counts unflushed), an on_shmem_exit hook from 17. Its PGPROC
leaves the ProcArray in on_shmem_exit (RemoveProcFromArray), after every before_shmem_exit hook on
all of them. `ALTER DATABASE … RENAME` refuses while any PGPROC of the database is in the ProcArray
(CountOtherDBBackends, which waits up to 5 s for them to go), so the counters read after a rename
include every flush. The rename also gives the clone a new name: a test that kept the old DSN
cannot reach the next test's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import asyncpg

from harness.provision.databases import drop_database, quote_identifier

# Reuse needs the shared-memory statistics of PostgreSQL 15+ (flushed before a backend exits); the
# older statistics collector received counts by UDP, some time after.
SHARED_MEMORY_STATS = 150000
# How long a handed-back clone may still have backends that are exiting (a closed connection's
# backend is gone within milliseconds); one still there after it is taken as a connection the test
# left open (a pool not closed), which could still write: the clone is dropped.
EXIT_GRACE = 0.5
EXIT_POLL = 0.002

# The footprint's columns, then who is still there (not part of it).
FOOTPRINT = """
SELECT s.tup_inserted, s.tup_updated, s.tup_deleted, s.stats_reset,
       (to_jsonb(d) - 'datname' - 'datfrozenxid' - 'datminmxid')::text AS catalog_row,
       shobj_description(d.oid, 'pg_database') AS comment,
       (SELECT array_agg(r.setrole::text || '=' || array_to_string(r.setconfig, ',') ORDER BY r.setrole)
          FROM pg_db_role_setting r WHERE r.setdatabase = d.oid) AS settings,
       (SELECT count(*) FROM pg_replication_slots WHERE database = d.datname) AS slots,
       (SELECT count(*) FROM pg_stat_activity WHERE datname = d.datname) AS backends,
       (SELECT count(*) FROM pg_prepared_xacts WHERE database = d.datname) AS prepared
FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid
WHERE d.datname = $1
"""
SEQUENCES = "SELECT oid::regclass::text FROM pg_class WHERE relkind = 'S' ORDER BY 1"

SequenceValues = tuple[tuple[str, int, bool], ...]


@dataclass(frozen=True)
class Footprint:
    """What the server records of a clone, read from the admin connection: equal footprints before
    and after a test mean the test wrote nothing."""

    record: tuple[Any, ...]

    @classmethod
    async def read(cls, admin: asyncpg.Connection, name: str) -> Footprint:
        return (await look(admin, name))[0]


async def look(admin: asyncpg.Connection, name: str) -> tuple[Footprint, int, int]:
    """`name`'s footprint, and how many backends and prepared transactions it has, in one query."""
    row = await admin.fetchrow(FOOTPRINT, name)
    if row is None:
        raise LookupError(f"database {name} does not exist")
    *record, backends, prepared = row.values()
    return Footprint(tuple(record)), backends, prepared


async def reuse_refused(admin: asyncpg.Connection) -> str | None:
    """Why this server's clones can never be reused, or None when they can."""
    if int(await admin.fetchval("SHOW server_version_num")) < SHARED_MEMORY_STATS:
        return "PostgreSQL before 15 reports statistics asynchronously"
    if await admin.fetchval("SHOW track_counts") != "on":
        return "track_counts is off: the server counts no writes"
    return None


async def wait_until_left(admin: asyncpg.Connection, name: str) -> Footprint | None:
    """`name`'s footprint once no backend is connected to it (a written clone shows already, before
    the rename barrier, when its writers flushed); None when a prepared transaction holds it, or a
    backend still is there after EXIT_GRACE (the clone is then not to be reused)."""
    deadline = time.monotonic() + EXIT_GRACE
    while True:
        footprint, backends, prepared = await look(admin, name)
        if prepared:
            return None
        if not backends:
            return footprint
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(EXIT_POLL)


async def rename_when_alone(admin: asyncpg.Connection, name: str, new_name: str) -> bool:
    """Rename `name` to `new_name`: the barrier after which every backend that used it has flushed
    its statistics (see the module's docstring). False when a backend is still there."""
    try:
        await admin.execute(f"ALTER DATABASE {quote_identifier(name)} RENAME TO {quote_identifier(new_name)}")
    except asyncpg.ObjectInUseError:
        return False
    return True


async def sequence_values(dsn: str, database: str) -> SequenceValues:
    """Each sequence of `database` with its last value and is_called (setval(…, false) shows only there)."""
    conn = await asyncpg.connect(dsn, database=database)
    try:
        names = [row[0] for row in await conn.fetch(SEQUENCES)]
        if not names:
            return ()
        union = " UNION ALL ".join(f"SELECT {i}, last_value, is_called FROM {n}" for i, n in enumerate(names))
        return tuple((names[row[0]], row[1], row[2]) for row in await conn.fetch(union + " ORDER BY 1"))
    finally:
        await conn.close()


# Spares: under `--reuse` a pool leaves its ready clones on the server when its run ends, renamed
# `<template>_spare_<hex>`, and the next run's pools take them before cloning (a `load` clone is a
# 1.2 GB copy). Each carries a seal in its comment: the hash of its footprint and sequence values,
# its template's OID and the server's start time. A spare is handed out only when the seal still
# matches: nothing wrote it (its counters, catalog rows and sequences are as they were), its template
# is the one of that name now (not one dropped and rebuilt), and the server has not restarted (a
# crash loses unflushed counters). Taking one is a rename: of two pools, one wins, the other finds
# the name gone.
SPARE_MARK = "_spare_"
SEAL_MARK = "harness spare: "
# pg_advisory_lock key held while spares are counted and parked, so concurrent runs never park
# more than their bound between them ("hxspare" in ASCII)
SPARES_LOCK = 0x68787370617265
COMMENT = "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1"
SERVER_LIFE = "SELECT (SELECT oid FROM pg_database WHERE datname = $1), pg_postmaster_start_time()"


def spare_prefix(template: str) -> str:
    return template + SPARE_MARK


async def spares_of(admin: asyncpg.Connection, template: str) -> list[str]:
    """The spares of `template`, oldest first."""
    rows = await admin.fetch(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY oid", spare_prefix(template)
    )
    return [row[0] for row in rows]


async def seal(admin: asyncpg.Connection, template: str, footprint: Footprint, sequences: SequenceValues) -> str:
    life = tuple(await admin.fetchrow(SERVER_LIFE, template) or ())
    return SEAL_MARK + hashlib.sha256(repr((life, footprint.record, sequences)).encode()).hexdigest()


async def park_spares(
    admin: asyncpg.Connection,
    template: str,
    ready: dict[str, Footprint],
    sequences: SequenceValues,
    limit: int,
) -> list[str]:
    """Leave the clones of `ready` (name → the footprint it was handed out with) as spares of
    `template`, as many as keep its spares at `limit`; the clones not parked (over the bound,
    written since, or still connected to), to be dropped."""
    left = []
    await admin.execute("SELECT pg_advisory_lock($1)", SPARES_LOCK)
    try:
        room = limit - len(await spares_of(admin, template))
        for name, recorded in ready.items():
            if room <= 0 or await Footprint.read(admin, name) != recorded:
                left.append(name)
                continue
            sealed = await seal(admin, template, recorded, sequences)  # hex digits: a literal as it is
            await admin.execute(f"COMMENT ON DATABASE {quote_identifier(name)} IS '{sealed}'")
            if not await rename_when_alone(admin, name, spare_prefix(template) + secrets.token_hex(6)):
                left.append(name)
                continue
            room -= 1
    finally:
        await admin.execute("SELECT pg_advisory_unlock($1)", SPARES_LOCK)
    return left


async def claim_spare(
    admin: asyncpg.Connection, dsn: str, template: str, name: str
) -> tuple[Footprint, SequenceValues] | None:
    """Take a spare of `template` as `name`: its footprint and sequence values once its seal is
    checked; None when none is left. A spare whose seal no longer matches is dropped, never
    handed out."""
    for spare in await spares_of(admin, template):
        try:
            await admin.execute(f"ALTER DATABASE {quote_identifier(spare)} RENAME TO {quote_identifier(name)}")
        except (asyncpg.InvalidCatalogNameError, asyncpg.ObjectInUseError):
            continue  # another pool took it first, or someone is connected to it
        sealed = await admin.fetchval(COMMENT, name)
        await admin.execute(f"COMMENT ON DATABASE {quote_identifier(name)} IS NULL")
        footprint = await Footprint.read(admin, name)
        sequences = await sequence_values(dsn, name)
        if sealed == await seal(admin, template, footprint, sequences):
            return footprint, sequences
        await drop_database(admin, name)
    return None


async def drop_spares(admin: asyncpg.Connection, template: str) -> None:
    """Drop the spares of `template` (one evicted or dropped); one taken or connected to meanwhile stays."""
    for spare in await spares_of(admin, template):
        with contextlib.suppress(asyncpg.ObjectInUseError):
            await drop_database(admin, spare, force=False)
