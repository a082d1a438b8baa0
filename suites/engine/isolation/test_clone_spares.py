"""Spares: under `--reuse` a pool leaves its ready clones on the server for the next run, whose
first tests take them instead of cloning. A spare goes to exactly one pool, their number stays
bounded, and one written since, or of a template rebuilt under its name, is dropped, never handed
out. On real servers, each test with a template of its own."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from harness.isolation import ClonePool, RunState
from harness.isolation.reuse import claim_spare, spares_of
from harness.isolation.template import drop_template, evict_templates
from harness.provision.databases import create_database, quote_identifier
from suites.engine.isolation.test_clone_reuse import TABLE, admin, sequenced_template

__all__ = ["admin", "sequenced_template"]  # fixtures


@contextmanager
def pool_of(dsn: str, template: str, timeout: float, spares: int, size: int = 3) -> Iterator[ClonePool]:
    pool = ClonePool(dsn, template, f"sp{secrets.token_hex(2)}", size, timeout, spares=spares).start()
    try:
        yield pool
    finally:
        pool.close()


def left_spares(dsn: str, template: str, timeout: float, spares: int, size: int = 3) -> None:
    """A run's pool that fills up and ends, leaving its ready clones as spares."""
    with pool_of(dsn, template, timeout, spares, size) as pool:
        pool.wait_until_full()


async def rows(dsn: str, name: str) -> list[str]:
    conn = await asyncpg.connect(dsn, database=name)
    try:
        return [row[0] for row in await conn.fetch("SELECT note FROM items ORDER BY id")]
    finally:
        await conn.close()


async def test_the_next_pools_first_clone_is_a_spare_the_last_one_left(
    harness_run: RunState, admin: asyncpg.Connection, sequenced_template: str, hang_timeout: float
) -> None:
    dsn = harness_run.endpoints.postgres
    left_spares(dsn, sequenced_template, hang_timeout, spares=2)
    spares = await spares_of(admin, sequenced_template)
    assert len(spares) == 2
    oids = {await admin.fetchval("SELECT oid FROM pg_database WHERE datname = $1", name) for name in spares}
    with pool_of(dsn, sequenced_template, hang_timeout, spares=2, size=1) as pool:
        first = pool.take()
        assert await admin.fetchval("SELECT oid FROM pg_database WHERE datname = $1", first) in oids
        assert await rows(dsn, first) == ["seed"]
        assert (
            await admin.fetchval(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", first
            )
            is None
        )
        pool.take()
        assert pool.claimed == 2
        assert await spares_of(admin, sequenced_template) == []


async def test_spares_stay_bounded_however_many_runs_end(
    harness_run: RunState, admin: asyncpg.Connection, sequenced_template: str, hang_timeout: float
) -> None:
    dsn = harness_run.endpoints.postgres
    for _ in range(3):  # each run ends with 3 ready clones or more; a bound of 2
        with pool_of(dsn, sequenced_template, hang_timeout, spares=2) as pool:
            pool.wait_until_full()
            pool.release(pool.take())  # a test's
            pool.wait_until_full()
    assert len(await spares_of(admin, sequenced_template)) == 2
    clones = await admin.fetchval(
        "SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)", sequenced_template + "_"
    )
    assert clones == 2


async def test_pools_racing_for_spares_never_share_one(
    harness_run: RunState, admin: asyncpg.Connection, sequenced_template: str, hang_timeout: float
) -> None:
    dsn = harness_run.endpoints.postgres
    left_spares(dsn, sequenced_template, hang_timeout, spares=3)
    spares = await spares_of(admin, sequenced_template)
    oids = {await admin.fetchval("SELECT oid FROM pg_database WHERE datname = $1", name) for name in spares}

    async def claimer(n: int) -> list[int]:
        conn = await asyncpg.connect(dsn)
        got: list[int] = []
        try:
            while True:
                name = f"{sequenced_template}_c{n}_{len(got)}"
                if await claim_spare(conn, dsn, sequenced_template, name) is None:
                    break
                got.append(int(await conn.fetchval("SELECT oid FROM pg_database WHERE datname = $1", name)))
        finally:
            await conn.close()
        return got

    claims = [oid for got in await asyncio.gather(*(claimer(n) for n in range(6))) for oid in got]
    assert sorted(claims) == sorted(oids)  # each spare to exactly one claimer
    assert len(set(claims)) == len(claims) == 3


async def test_a_spare_written_since_it_was_left_is_dropped_not_handed_out(
    harness_run: RunState, admin: asyncpg.Connection, sequenced_template: str, hang_timeout: float
) -> None:
    dsn = harness_run.endpoints.postgres
    left_spares(dsn, sequenced_template, hang_timeout, spares=2)
    inserted, advanced = await spares_of(admin, sequenced_template)
    for name, sql in (
        (inserted, "INSERT INTO items (note) VALUES ('left')"),
        (advanced, "SELECT nextval('items_id_seq')"),
    ):
        conn = await asyncpg.connect(dsn, database=name)
        try:
            await conn.execute(sql)  # nextval writes no tuple: the sequence values show it
        finally:
            await conn.close()
    with pool_of(dsn, sequenced_template, hang_timeout, spares=2, size=1) as pool:
        first = pool.take()
        assert pool.claimed == 0
        assert await rows(dsn, first) == ["seed"]
        conn = await asyncpg.connect(dsn, database=first)
        try:
            assert await conn.fetchval("SELECT nextval('items_id_seq')") == 2
        finally:
            await conn.close()
        gone = await admin.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = ANY($1::text[])", [inserted, advanced]
        )
        assert gone == 0


async def test_a_spare_of_a_template_rebuilt_under_its_name_is_dropped_not_handed_out(
    harness_run: RunState, admin: asyncpg.Connection, hang_timeout: float
) -> None:
    dsn = harness_run.endpoints.postgres
    template = f"hx_rebuilt_{secrets.token_hex(4)}"
    try:
        for note in ("old", "new"):
            await admin.execute(f"DROP DATABASE IF EXISTS {quote_identifier(template)}")  # its spares stay
            await create_database(admin, template)
            conn = await asyncpg.connect(dsn, database=template)
            try:
                await conn.execute(TABLE.replace("'seed'", f"'{note}'"))
            finally:
                await conn.close()
            await admin.execute(
                f"ALTER DATABASE {quote_identifier(template)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"
            )
            if note == "old":
                left_spares(dsn, template, hang_timeout, spares=1, size=1)
                assert len(await spares_of(admin, template)) == 1
                await admin.execute(f"ALTER DATABASE {quote_identifier(template)} WITH IS_TEMPLATE false")
        with pool_of(dsn, template, hang_timeout, spares=1, size=1) as pool:
            assert await rows(dsn, pool.take()) == ["new"]
            assert pool.claimed == 0
            assert await spares_of(admin, template) == []
    finally:
        for name in await spares_of(admin, template):
            await admin.execute(f"DROP DATABASE {quote_identifier(name)}")
        await drop_template(admin, template)


async def test_evicting_a_template_drops_its_spares(
    harness_run: RunState, admin: asyncpg.Connection, sequenced_template: str, hang_timeout: float
) -> None:
    left_spares(harness_run.endpoints.postgres, sequenced_template, hang_timeout, spares=2)
    kind = f"spares-test-{secrets.token_hex(4)}"
    await admin.execute(f"COMMENT ON DATABASE {quote_identifier(sequenced_template)} IS 'harness template: {kind}'")
    await evict_templates(admin, kind, keep=0)
    assert await spares_of(admin, sequenced_template) == []
    assert not await admin.fetchval("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", sequenced_template)


async def test_dropping_a_template_drops_its_spares(
    harness_run: RunState, admin: asyncpg.Connection, sequenced_template: str, hang_timeout: float
) -> None:
    """`harness mutate` drops each mutant's template after its tests: its spares must not stay behind."""
    left_spares(harness_run.endpoints.postgres, sequenced_template, hang_timeout, spares=2)
    assert len(await spares_of(admin, sequenced_template)) == 2
    await drop_template(admin, sequenced_template)
    assert await spares_of(admin, sequenced_template) == []
