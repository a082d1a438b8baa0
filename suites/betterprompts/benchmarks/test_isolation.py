"""How fast a test gets a database of its own, beside the baselines it improves on.

Run as their own invocation (pytest-benchmark does not time under xdist):
    pytest suites/betterprompts/benchmarks/test_isolation.py
Under `pytest -n auto` these run once, untimed, as smoke tests.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator

import asyncpg
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.config import Settings
from harness.isolation import ClonePool, RunState, clone_database, drop_database
from harness.isolation.worker_connection import WorkerConnection
from harness.pytest_plugin import Database
from suites.betterprompts.benchmarks._support import Side, batch, measure_pair, rounds

ROUNDS = rounds(40, 16)


@pytest.mark.benchmark(group="fresh-database")
def test_fresh_database_from_the_ready_pool(benchmark: BenchmarkFixture, clone_pool: ClonePool) -> None:
    """What `fresh_database` costs a test when the pool keeps up (each round starts from a full pool)."""
    taken: list[str] = []
    benchmark.extra_info["role"] = "subject"
    benchmark.pedantic(lambda: taken.append(clone_pool.take()), setup=clone_pool.wait_until_full, rounds=ROUNDS)
    for name in taken:
        clone_pool.release(name)


@pytest.mark.parametrize("strategy", ["FILE_COPY", "WAL_LOG"])
@pytest.mark.benchmark(group="fresh-database")
def test_baseline_clone_on_demand(
    benchmark: BenchmarkFixture, harness_run: RunState, loop: asyncio.AbstractEventLoop, strategy: str
) -> None:
    """The baseline: CREATE DATABASE … TEMPLATE at the moment the test asks for it (FILE_COPY, the
    faster of the two here; WAL_LOG, PostgreSQL's default, is shown for reference)."""
    benchmark.extra_info["role"] = "baseline" if strategy == "FILE_COPY" else "reference"
    admin = loop.run_until_complete(asyncpg.connect(harness_run.endpoints.postgres))
    names: list[str] = []

    def clone() -> None:
        name = f"{harness_run.template}_bench_{secrets.token_hex(3)}"
        names.append(name)
        loop.run_until_complete(
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{harness_run.template}" STRATEGY {strategy}')
        )

    def drop() -> None:
        loop.run_until_complete(admin.execute(f'DROP DATABASE "{names[-1]}"'))

    try:
        benchmark.pedantic(clone, teardown=drop, rounds=ROUNDS // 2)
    finally:
        loop.run_until_complete(admin.close())


TESTS = rounds(40, 10)  # simulated tests per round of the pairs below
PAIRS = rounds(10, 3)


@pytest.fixture
def pools(harness_run: RunState, harness_settings: Settings) -> Iterator[dict[bool, ClonePool]]:
    """A pool that reuses unwritten clones and one that drops every clone (the pool before reuse)."""
    made = {
        reuse: ClonePool(
            harness_run.endpoints.postgres, harness_run.template, f"rb{int(reuse)}{secrets.token_hex(2)}",
            harness_settings.clone_pool_size, harness_settings.hang_timeout, reuse=reuse,
        ).start()
        for reuse in (True, False)
    }  # fmt: skip
    yield made
    for pool in made.values():
        pool.close()


def pool_tests(pool: ClonePool, loop: asyncio.AbstractEventLoop, dsn: str, sql: str) -> Callable[[], None]:
    """A round of TESTS tests that each take a clone, run `sql` on a connection of their own and hand
    the clone back, and the pool settling afterwards: its background work (reuse checks, clones,
    drops) is part of what a test costs the machine."""

    async def one() -> None:
        name = pool.take()
        conn = await asyncpg.connect(dsn, database=name)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
        pool.release(name)

    def round_() -> None:
        for _ in range(TESTS):
            loop.run_until_complete(one())
        pool.wait_until_idle()

    return round_


OUTRUN_TAKES = rounds(40, 16)  # back-to-back takes per round: the pool's few ready clones, then the clone rate
OUTRUN_PAIRS = rounds(8, 4)


@pytest.mark.benchmark(group="fresh-database outrun")
def test_fresh_database_when_tests_outrun_the_pool(
    benchmark: BenchmarkFixture, pools: dict[bool, ClonePool], harness_run: RunState, loop: asyncio.AbstractEventLoop
) -> None:
    """Back-to-back takes with no test time between them, so the pool drains to the clone rate
    (subject), against as many `CREATE DATABASE … FILE_COPY` on demand (baseline), rounds
    alternating: two separate tests met different moments of a busy machine, and the ratio moved
    from 0.6 to 1.3 between runs. Each round starts from a settled pool that drops what it gets back
    (as it does a clone a test wrote: a reused one would be handed out again at no cost); handing
    back and dropping are untimed on both sides."""
    template, clone_pool = harness_run.template, pools[False]
    admin = loop.run_until_complete(asyncpg.connect(harness_run.endpoints.postgres))
    taken: list[str] = []
    made: list[str] = []

    def take_round() -> None:
        taken.extend(clone_pool.take() for _ in range(OUTRUN_TAKES))

    def hand_back() -> None:
        while taken:
            clone_pool.release(taken.pop())
        clone_pool.wait_until_idle()

    async def clones_on_demand() -> None:
        for _ in range(OUTRUN_TAKES):
            made.append(f"{template}_demand_{secrets.token_hex(3)}")
            await clone_database(admin, template, made[-1])

    async def drops() -> None:
        while made:
            await drop_database(admin, made.pop())

    clone_pool.wait_until_idle()
    try:
        measure_pair(
            benchmark,
            Side("fresh_database_when_tests_outrun_the_pool", OUTRUN_TAKES, take_round, hand_back),
            Side(
                "fresh_database_when_tests_outrun_the_pool[clone_on_demand]", OUTRUN_TAKES,
                lambda: loop.run_until_complete(clones_on_demand()), lambda: loop.run_until_complete(drops()),
            ),
            pairs=OUTRUN_PAIRS,
        )  # fmt: skip
    finally:
        hand_back()
        loop.run_until_complete(drops())
        loop.run_until_complete(admin.close())


@pytest.mark.benchmark(group="fresh-database-reuse read")
def test_fresh_database_for_tests_that_only_read(
    benchmark: BenchmarkFixture, pools: dict[bool, ClonePool], harness_run: RunState, loop: asyncio.AbstractEventLoop
) -> None:
    """Tests that read their fresh_database: the pool hands their clones out again (subject) against
    the pool that drops each and clones anew (baseline)."""
    dsn, sql = harness_run.endpoints.postgres, "SELECT count(*) FROM pg_class"
    for pool in pools.values():
        pool.wait_until_idle()
    measure_pair(
        benchmark,
        Side("fresh_database_read_only[reused]", TESTS, pool_tests(pools[True], loop, dsn, sql)),
        Side("fresh_database_read_only[dropped]", TESTS, pool_tests(pools[False], loop, dsn, sql)),
        pairs=PAIRS,
    )


@pytest.mark.benchmark(group="fresh-database-reuse write")
def test_fresh_database_for_tests_that_write(
    benchmark: BenchmarkFixture, pools: dict[bool, ClonePool], harness_run: RunState, loop: asyncio.AbstractEventLoop
) -> None:
    """Tests that write to their fresh_database (their clone is dropped) against the same tests each
    cloning on demand and dropping afterwards: a written clone costs one clone, and the reuse checks
    add next to nothing."""
    dsn, template = harness_run.endpoints.postgres, harness_run.template
    sql = "CREATE TABLE written (id int); INSERT INTO written VALUES (1)"
    admin = loop.run_until_complete(asyncpg.connect(dsn))

    async def on_demand() -> None:
        name = f"{template}_demand_{secrets.token_hex(3)}"
        await clone_database(admin, template, name)
        conn = await asyncpg.connect(dsn, database=name)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
        await drop_database(admin, name)

    def demand_round() -> None:
        for _ in range(TESTS):
            loop.run_until_complete(on_demand())

    pools[True].wait_until_idle()
    try:
        measure_pair(
            benchmark,
            Side("fresh_database_writing[pool]", TESTS, pool_tests(pools[True], loop, dsn, sql)),
            Side("fresh_database_writing[clone_on_demand]", TESTS, demand_round),
            pairs=PAIRS,
        )
    finally:
        loop.run_until_complete(admin.close())


@pytest.mark.parametrize("baseline", ["begin_rollback", "connection_per_test"])
def test_pg_conn_per_test(
    benchmark: BenchmarkFixture, worker_database: Database, loop: asyncio.AbstractEventLoop, baseline: str
) -> None:
    """pg_conn's work per test on the worker's kept connection (lend: transaction, savepoint,
    rollback, reset) against BEGIN/ROLLBACK on an open connection (the physical floor), or against
    a connection per test (pg_conn before). A group per baseline: a ratio has one."""
    benchmark.group = f"pg-conn {baseline}"
    worker = WorkerConnection(worker_database.dsn, loop)
    raw = loop.run_until_complete(asyncpg.connect(worker_database.dsn))

    async def lent(i: int) -> None:
        async with worker.lend() as loan:
            await loan.connection.fetchval("SELECT 1")

    async def begin_rollback(i: int) -> None:
        transaction = raw.transaction()
        await transaction.start()
        await raw.fetchval("SELECT 1")
        await transaction.rollback()

    async def connection_per_test(i: int) -> None:
        conn = await asyncpg.connect(worker_database.dsn)
        try:
            await begin_rollback_on(conn)
        finally:
            await conn.close()

    async def begin_rollback_on(conn: asyncpg.Connection) -> None:
        transaction = conn.transaction()
        await transaction.start()
        await conn.fetchval("SELECT 1")
        await transaction.rollback()

    other = begin_rollback if baseline == "begin_rollback" else connection_per_test
    try:
        measure_pair(
            benchmark,
            Side(f"pg_conn_per_test[kept-{baseline}]", TESTS, batch(loop, lent, TESTS, 1)),
            Side(f"pg_conn_per_test[{baseline}]", TESTS, batch(loop, other, TESTS, 1)),
            pairs=PAIRS,
        )
    finally:
        loop.run_until_complete(worker.close())
        loop.run_until_complete(raw.close())
