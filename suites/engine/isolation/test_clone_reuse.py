"""A clone a test did not write to is handed out again; any write, including the kinds no tuple
counter shows, gets it dropped, and the next test never sees another test's rows or sequence values.
The pool decides from the server's records, on real servers."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager

import asyncpg
import pytest
import pytest_asyncio

from harness.isolation import ClonePool, RunState
from harness.isolation.template import drop_template
from harness.provision import Faults
from harness.provision.databases import create_database, quote_identifier
from harness.pytest_plugin import PrivateEnvironment

Act = Callable[[asyncpg.Connection, str], Awaitable[object]]
TABLE = """
CREATE TABLE items (id serial PRIMARY KEY, note text CHECK (note <> 'bad'));
INSERT INTO items (note) VALUES ('seed')
"""


@pytest_asyncio.fixture
async def admin(harness_run: RunState) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(harness_run.endpoints.postgres)
    yield conn
    await conn.close()


@pytest_asyncio.fixture
async def sequenced_template(admin: asyncpg.Connection, harness_run: RunState) -> AsyncIterator[str]:
    """A template of the test's own: a table of one row whose key comes from a sequence."""
    name = f"hx_seqtpl_{secrets.token_hex(4)}"
    await create_database(admin, name)
    conn = await asyncpg.connect(harness_run.endpoints.postgres_dsn(name))
    try:
        await conn.execute(TABLE)
    finally:
        await conn.close()
    await admin.execute(f"ALTER DATABASE {quote_identifier(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
    yield name
    await drop_template(admin, name)


@contextmanager
def pool_of(dsn: str, template: str, timeout: float, size: int = 1) -> Iterator[ClonePool]:
    pool = ClonePool(dsn, template, f"re{secrets.token_hex(2)}", size, timeout).start()
    try:
        yield pool
    finally:
        pool.close()


async def taken(pool: ClonePool, admin: asyncpg.Connection) -> tuple[str, int]:
    """A clone taken from `pool`: its name, and its OID, which a clone dropped and made again does not keep."""
    name = pool.take()
    return name, int(await admin.fetchval("SELECT oid FROM pg_database WHERE datname = $1", name))


async def used_once(pool: ClonePool, admin: asyncpg.Connection, dsn: str, act: Act) -> int:
    """Take a clone, `act` on it through a connection of the test's own, hand it back and wait for
    the pool's verdict; the clone's OID."""
    name, oid = await taken(pool, admin)
    conn = await asyncpg.connect(dsn, database=name)
    try:
        await act(conn, name)
    finally:
        await conn.close()
    await backend_gone(admin, name, pool.hang_timeout)
    pool.release(name)
    pool.wait_until_idle()
    return oid


async def backend_gone(admin: asyncpg.Connection, name: str, timeout: float) -> None:
    """Until the closed connection's backend has exited: the pool gives an exiting backend only
    EXIT_GRACE before it drops the clone as still in use, which a loaded machine can outlast."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name):
        assert asyncio.get_running_loop().time() < deadline, f"a backend of {name} outlived its closed connection"
        await asyncio.sleep(0.005)


async def still_there(admin: asyncpg.Connection, oid: int) -> bool:
    return bool(await admin.fetchval("SELECT EXISTS (SELECT FROM pg_database WHERE oid = $1)", oid))


async def read_only(conn: asyncpg.Connection, name: str) -> None:
    await conn.fetch("SELECT * FROM pg_class")


async def test_a_clone_read_and_handed_back_is_handed_out_again_under_a_new_name(
    harness_run: RunState, admin: asyncpg.Connection, hang_timeout: float
) -> None:
    with pool_of(harness_run.endpoints.postgres, harness_run.template, hang_timeout) as pool:
        oid = await used_once(pool, admin, harness_run.endpoints.postgres, read_only)
        assert await still_there(admin, oid)
        renamed = await admin.fetchval("SELECT datname FROM pg_database WHERE oid = $1", oid)
        assert renamed.startswith(pool.prefix)
        taken = [pool.take() for _ in range(pool.size + 1)]  # the ready ones, first in first out
        assert renamed in taken
        assert pool.reused == 1


async def insert(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute("INSERT INTO items (note) VALUES ('kept')")


async def nextval_of_a_failed_insert(conn: asyncpg.Connection, name: str) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute("INSERT INTO items (note) VALUES ('bad')")  # the serial default was taken


async def setval_not_called(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute("SELECT setval('items_id_seq', 7, false)")


async def temporary_table(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute("CREATE TEMP TABLE scratch (id int)")


async def large_object(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute("SELECT lo_create(0)")


async def analyze(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute("ANALYZE items")


async def database_setting(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute(f"ALTER DATABASE {quote_identifier(name)} SET work_mem = '8MB'")


async def database_comment(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute(f"COMMENT ON DATABASE {quote_identifier(name)} IS 'changed by a test'")


async def database_grant(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute(f"GRANT CREATE ON DATABASE {quote_identifier(name)} TO PUBLIC")


@pytest.mark.parametrize(
    "act",
    [insert, nextval_of_a_failed_insert, setval_not_called, temporary_table, large_object, analyze,
     database_setting, database_comment, database_grant],
)  # fmt: skip
async def test_a_clone_written_in_any_way_is_dropped_not_reused(
    harness_run: RunState, admin: asyncpg.Connection, sequenced_template: str, hang_timeout: float, act: Act
) -> None:
    dsn = harness_run.endpoints.postgres
    with pool_of(dsn, sequenced_template, hang_timeout) as pool:
        assert await still_there(admin, await used_once(pool, admin, dsn, read_only))  # the control: reused
        assert not await still_there(admin, await used_once(pool, admin, dsn, act))
        assert pool.reused == 1


async def test_a_clone_with_a_connection_still_open_at_hand_back_is_dropped(
    harness_run: RunState, admin: asyncpg.Connection, hang_timeout: float
) -> None:
    dsn = harness_run.endpoints.postgres
    with pool_of(dsn, harness_run.template, hang_timeout) as pool:
        name, oid = await taken(pool, admin)
        left_open = await asyncpg.connect(dsn, database=name)  # a pool the test did not close
        try:
            pool.release(name)
            pool.wait_until_idle()
            assert not await still_there(admin, oid)
        finally:
            left_open.terminate()
        assert pool.reused == 0


async def test_the_next_clones_hold_no_row_and_no_sequence_value_of_an_earlier_test(
    harness_run: RunState, admin: asyncpg.Connection, sequenced_template: str, hang_timeout: float
) -> None:
    dsn = harness_run.endpoints.postgres
    with pool_of(dsn, sequenced_template, hang_timeout, size=2) as pool:
        for act in (insert, nextval_of_a_failed_insert, read_only):
            await used_once(pool, admin, dsn, act)
        for _ in range(pool.size + 1):
            conn = await asyncpg.connect(dsn, database=pool.take())
            try:
                assert await conn.fetchval("SELECT count(*) FROM items") == 1  # the template's own row
                assert await conn.fetchval("SELECT nextval('items_id_seq')") == 2
            finally:
                await conn.close()


async def restarted_with(environment: PrivateEnvironment, faults: Faults, setting: str) -> None:
    """The private server restarted with `setting` (ALTER SYSTEM: its data directory is disposable)."""
    conn = await asyncpg.connect(environment.endpoints.postgres)
    try:
        await conn.execute(f"ALTER SYSTEM SET {setting}")
    finally:
        await conn.close()
    await faults.postgres.restart()


async def test_where_track_counts_is_off_no_clone_is_reused(
    private_environment: PrivateEnvironment, faults: Faults, hang_timeout: float
) -> None:
    await restarted_with(private_environment, faults, "track_counts = off")
    dsn = private_environment.endpoints.postgres
    template = private_environment.database.name.removesuffix("_private")
    admin = await asyncpg.connect(dsn)
    try:
        with pool_of(dsn, template, hang_timeout) as pool:
            assert not await still_there(admin, await used_once(pool, admin, dsn, read_only))
            assert pool.reused == 0
    finally:
        await admin.close()


async def test_a_clone_holding_a_prepared_transaction_is_dropped_with_it(
    private_environment: PrivateEnvironment, faults: Faults, hang_timeout: float
) -> None:
    await restarted_with(private_environment, faults, "max_prepared_transactions = 2")  # the harness's servers: 0
    dsn = private_environment.endpoints.postgres
    template = private_environment.database.name.removesuffix("_private")

    async def prepare(conn: asyncpg.Connection, name: str) -> None:
        await conn.execute("BEGIN; CREATE TABLE pending (id int); PREPARE TRANSACTION 'left by a test'")

    admin = await asyncpg.connect(dsn)
    try:
        with pool_of(dsn, template, hang_timeout) as pool:
            assert not await still_there(admin, await used_once(pool, admin, dsn, prepare))
        assert await admin.fetchval("SELECT count(*) FROM pg_prepared_xacts") == 0
    finally:
        await admin.close()


async def test_a_renewed_database_keeps_its_name_and_holds_nothing_written_to_it_before(
    harness_run: RunState, admin: asyncpg.Connection, hang_timeout: float
) -> None:
    dsn = harness_run.endpoints.postgres
    with pool_of(dsn, harness_run.template, hang_timeout) as pool:
        name, oid = await taken(pool, admin)
        await insert_committed(dsn, name)
        await asyncio.to_thread(pool.renew, name)
        assert not await still_there(admin, oid)
        conn = await asyncpg.connect(dsn, database=name)
        try:
            assert await conn.fetchval("SELECT to_regclass('written')") is None
        finally:
            await conn.close()


async def insert_committed(dsn: str, name: str) -> None:
    conn = await asyncpg.connect(dsn, database=name)
    try:
        await conn.execute("CREATE TABLE written (id int)")
    finally:
        await conn.close()
