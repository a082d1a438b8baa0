"""The pytest plugin: options, the run's servers and template, and the fixtures. It only wires.

The xdist controller (or the lone session) provisions once and hands `RunState` to the workers
(through a private file named in `workerinput`); workers never start the shared servers. Each
worker keeps a ClonePool of the template: `fresh_database` pops a ready clone, `pg_conn` runs in
the worker's own clone inside a transaction that is rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import importlib
import logging
import secrets
import shutil
import tempfile
import threading
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Future, wait
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import pytest_asyncio

from harness.errors import USAGE, ConfigurationError, explain
from harness.insight.pytest_hooks import InsightPlugin
from harness.pytest_options import add_settings, settings_given
from harness.sharding import ALGORITHM, DURATIONS_FILE, parse_shard
from harness.signals import interrupt_on_sigterm

# What a test's servers need (the settings model, asyncpg, the isolation and provisioning packages)
# is imported where it is used: pytest imports this module in every process of a run, each xdist
# worker too, before anything else; a run's provisioning thread (or a worker's warm-up) loads it
# while pytest goes on (`_warm_up`).
if TYPE_CHECKING:
    import asyncpg
    import redis.asyncio as aioredis

    from harness.config import Settings
    from harness.isolation import ClonePool, RunState
    from harness.isolation.worker_connection import Loan, WorkerConnection
    from harness.provision import Endpoints, Environment, Faults
    from harness.provision.replica import Replica
    from harness.query_budget import QueryBudgets

RUN_STATE: pytest.StashKey[RunState] = pytest.StashKey()
ENVIRONMENT: pytest.StashKey[Environment] = pytest.StashKey()
PROVISIONING: pytest.StashKey[Future[RunState]] = pytest.StashKey()
CLOSE: pytest.StashKey[threading.Event] = pytest.StashKey()
PROVISIONER: pytest.StashKey[threading.Thread] = pytest.StashKey()
HANDOFF: pytest.StashKey[Path] = pytest.StashKey()
INSIGHT: pytest.StashKey[InsightPlugin] = pytest.StashKey()
VERSIONS: pytest.StashKey[str] = pytest.StashKey()
WORKER_INPUT = "harness_run_state"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_settings(parser)  # the settings pytest offers (harness.pytest_options)
    # not a setting (the group above is exactly the settings): which tests this process collects
    sharding = parser.getgroup("harness-shard", "harness: the suites split across machines")
    sharding.addoption(
        "--harness-shard", dest="harness_shard", default=None, metavar="I/N",
        help=f"run shard I of N, balanced by the durations in {DURATIONS_FILE} at the rootdir (pytest-split)",
    )  # fmt: skip


def settings_from(config: pytest.Config) -> Settings:
    """Settings from the project file of the rootdir (its [tool.harness]) and the environment,
    overridden by ini values (paths relative to the rootdir), overridden by command-line options."""
    from harness.config import Settings
    from harness.project import find_project_file

    return Settings(project_file=find_project_file(config.rootpath), **settings_given(config))


T = TypeVar("T")


def _start_up(step: Callable[[], T]) -> T:
    """The session's start-up error boundary: an expected failure (a bad setting, servers that
    cannot be started or reached) ends the run with one line, not a traceback per test."""
    try:
        return step()
    except Exception as exc:
        explained = explain(exc)
        if explained is None:
            raise
        usage = explained.exit_status == USAGE
        pytest.exit(
            f"harness: {explained.message}", pytest.ExitCode.USAGE_ERROR if usage else pytest.ExitCode.TESTS_FAILED
        )


def _provision(config: pytest.Config, in_background: bool = False) -> RunState:
    """The run's state: provisioned here (a lone session, or the xdist controller's background
    thread), or, on a worker, read from the controller's hand-off file."""
    provisioning = config.stash.get(PROVISIONING, None)
    if provisioning is not None and not in_background:
        return provisioning.result()  # a lone session's, started at configure (a start-up failure: pytest.exit)
    if RUN_STATE not in config.stash:
        handoff = config.stash.get(HANDOFF, None)
        if handoff is not None and hasattr(config, "workerinput"):
            from harness.isolation.state import RunState

            config.stash[RUN_STATE] = RunState.from_json(handoff.read_text())
            return config.stash[RUN_STATE]
        from harness.isolation.run import prepare_run

        env, state = _start_up(lambda: asyncio.run(prepare_run(settings_from(config))))
        config.stash[ENVIRONMENT] = env
        config.stash[RUN_STATE] = state
        config.stash[INSIGHT].begin(state.endpoints)
    return config.stash[RUN_STATE]


def _provision_in_background(config: pytest.Config) -> Future[RunState]:
    """`_provision` in a thread that also stops the servers (`_close_environment`) once told to
    (`CLOSE`): the servers' parent-death signal fires when the thread that started them ends, not
    only the process."""
    provisioned: Future[RunState] = Future()
    config.stash[CLOSE] = close = threading.Event()

    def provision() -> None:
        try:
            state = _provision(config, in_background=True)
        except BaseException as exc:  # handed to the main thread, which reports it
            provisioned.set_exception(exc)
        else:
            provisioned.set_result(state)
            config.stash[VERSIONS] = _describe_servers(state.endpoints)  # for the summary, off its way
        close.wait()
        _close_environment(config)

    config.stash[PROVISIONER] = thread = threading.Thread(target=provision, name="harness-provision", daemon=True)
    thread.start()
    return provisioned


def _close_environment(config: pytest.Config) -> None:
    env = config.stash.get(ENVIRONMENT, None)
    if env is not None:
        asyncio.run(env.close())
        del config.stash[ENVIRONMENT]


def _start_provisioning(config: pytest.Config) -> None:
    """Provisioning started in a thread (`_provision_in_background`); on the xdist controller also
    the private file that will hand its state to the workers."""
    if _distributes(config):
        config.stash[HANDOFF] = Path(tempfile.mkdtemp(prefix="harness-handoff-")) / "run.json"
    config.stash[PROVISIONING] = _provision_in_background(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: each worker gets the path of the private file that holds the state before
    any test is handed out (pytest_runtestloop). Provisioning started at configure, before the
    workers were spawned, so that it runs while they start (each a pytest of its own: imports,
    collection); here only for a run configure left out."""
    config = node.config
    if PROVISIONING not in config.stash:
        _start_provisioning(config)
    node.workerinput[WORKER_INPUT] = str(config.stash[HANDOFF])


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """xdist controller, before the first test is handed out: the provisioning's state written for
    the workers, or its start-up failure ending the run, reported once."""
    provisioning = session.config.stash.get(PROVISIONING, None)
    if provisioning is not None and HANDOFF in session.config.stash:
        from harness.provision.registry import write_private

        state = provisioning.result()  # raises the start-up failure (pytest.exit) here
        write_private(session.config.stash[HANDOFF], state.to_json())


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # What is loaded by now (pytest, the plug-ins, the settings model) lives until the process ends:
    # frozen, the collector skips it, in the run's collections and in pytest's own at the exit.
    gc.freeze()
    _walkable_loggers()
    _choose_shard(config)
    config.stash[INSIGHT] = InsightPlugin(config)  # what the database did: zeroed once ready, captured at the end
    config.pluginmanager.register(config.stash[INSIGHT], "harness-insight")
    # So that a terminated run still tears down: a worker too, whose tests' own servers
    # (private_environment) would leave their data behind when a cancelled CI job signals them all.
    interrupt_on_sigterm()
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and WORKER_INPUT in worker_input:
        config.stash[HANDOFF] = Path(worker_input[WORKER_INPUT])
        threading.Thread(target=_warm_up, name="harness-warm-up", daemon=True).start()
    elif worker_input is None and _provisions_early(config):
        _start_provisioning(config)


# What a worker's first test's fixtures import: the run's state, the clone pool, asyncpg.
FIRST_TEST_MODULES = ("harness.isolation.state", "harness.isolation.clones", "harness.isolation.worker_connection")


def _warm_up() -> None:
    """A worker's imports for its first test, loaded while pytest collects and the controller hands
    out tests: what the provisioning thread does for the process that provisions."""
    for module in FIRST_TEST_MODULES:
        with contextlib.suppress(Exception):  # a failing import fails again where it is used, with its traceback
            importlib.import_module(module)


class _LoggerDict(dict[str, Any]):
    """logging's registry of loggers, whose values() is a copy taken at once (under the GIL)."""

    def values(self) -> list[Any]:  # type: ignore[override]
        return list(super().values())


def _walkable_loggers() -> None:
    """pytest's logging walks every logger at each test phase (catching_logs, in the main thread); a
    module that a thread of ours imports meanwhile (the docker SDK, provisioning) adds its logger,
    and the walk fails: "dictionary changed size during iteration". It walks a copy instead."""
    manager = logging.Logger.manager
    if not isinstance(manager.loggerDict, _LoggerDict):
        manager.loggerDict = _LoggerDict(manager.loggerDict)


# Runs that start no test: they start no server either.
NO_TESTS_RUN = ("help", "version", "collectonly", "showfixtures", "show_fixtures_per_test", "markers")


def _provisions_early(config: pytest.Config) -> bool:
    """A run that will run tests provisions in a thread from configure on: a lone session while
    pytest collects, the xdist controller while its workers start; the first test that asks for the
    servers (on a worker: the hand-off) waits for it. Not for a mutation slot (it provisions per mutant)."""
    if any(getattr(config.option, name, False) for name in NO_TESTS_RUN):
        return False
    return not config.getoption("mutation_queue", default=None)


def _distributes(config: pytest.Config) -> bool:
    """Whether this process is the xdist controller, which hands tests to workers (xdist's own test:
    a distribution mode and somewhere to run workers, after `-n` was turned into them)."""
    return config.getoption("dist", default="no") != "no" and bool(config.getoption("tx", default=None))


def _choose_shard(config: pytest.Config) -> None:
    """`--harness-shard I/N` handed to pytest-split (before its own pytest_configure reads them), on
    the controller and on every worker alike, so all of them collect the same shard."""
    text = config.getoption("harness_shard")
    if text is None:
        return
    try:
        shard = parse_shard(text)
    except ConfigurationError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not hasattr(config.option, "splits"):
        raise pytest.UsageError("--harness-shard needs the shard extra (pytest-split): pip install 'harness-db[shard]'")
    config.option.splits, config.option.group = shard.count, shard.index
    config.option.splitting_algorithm = ALGORITHM
    if config.option.durations_path == str(Path.cwd() / DURATIONS_FILE):  # pytest-split's default: the cwd
        config.option.durations_path = str(config.rootpath / DURATIONS_FILE)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    env = config.stash.get(ENVIRONMENT, None)
    if env is not None and exitstatus in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERNAL_ERROR):
        env.failed = True  # its servers' logs are kept (harness.provision.server_logs)
    if _distributes(config) and CLOSE in config.stash and config.stash[INSIGHT].target is None:
        # The xdist controller's loop has ended, so every worker has torn its fixtures down: the
        # servers stop while xdist waits for the workers' processes to end (a capture of insight,
        # at this hook, still needs them).
        config.stash[CLOSE].set()


def pytest_unconfigure(config: pytest.Config) -> None:
    provisioning = config.stash.get(PROVISIONING, None)
    if provisioning is not None:
        wait([provisioning])  # an interrupted run still ends the servers being started
        if HANDOFF in config.stash:
            shutil.rmtree(config.stash[HANDOFF].parent, ignore_errors=True)
        config.stash[CLOSE].set()
        config.stash[PROVISIONER].join()
    _close_environment(config)  # provisioned in the main thread (no early provisioning)


def pytest_report_header(config: pytest.Config) -> str | None:
    """What the settings decide, before any server runs: the header is written at session start,
    and the servers start when a test first asks for them (or, under xdist, as workers start),
    so their versions and the template (named by them too) come in the terminal summary. Not on
    an xdist worker, whose header nobody sees: it would cost the worker the settings model."""
    if hasattr(config, "workerinput"):
        return None
    try:
        settings = settings_from(config)
    except Exception as exc:  # a bad setting: the start-up boundary says so when servers are asked for
        if explain(exc) is None:
            raise
        return None
    return f"harness: backend {settings.backend}, migrations {settings.migrations_dir}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The process that provisioned (the xdist controller, or a lone session) names what it got:
    the versions its provisioning thread asked for once the servers were handed over, or asked here."""
    state = config.stash.get(RUN_STATE, None)
    if state is not None and not hasattr(config, "workerinput"):
        versions = config.stash.get(VERSIONS, None) or _describe_servers(state.endpoints)
        terminalreporter.write_line(
            f"harness: backend {state.endpoints.backend}, {versions}, template {state.template}"
        )


def _describe_servers(endpoints: Endpoints) -> str:
    """The servers' versions, as the summary names them; off the way to the first test."""
    try:
        from harness.provision.versions import server_versions

        return asyncio.run(server_versions(endpoints)).describe()
    except Exception as exc:  # servers a test brought down: the summary still names the rest
        return f"server versions unknown ({type(exc).__name__})"


def _worker_id(config: pytest.Config) -> str:
    worker_input = getattr(config, "workerinput", None)
    return str(worker_input["workerid"]) if worker_input else "main"


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> Settings:
    return _start_up(lambda: settings_from(pytestconfig))


@pytest.fixture(scope="session")
def hang_timeout(harness_settings: Settings) -> float:
    """Seconds a test's client may wait before its wait counts as a hang (HARNESS_HANG_TIMEOUT):
    for connect, pool, statement and reply deadlines that only guard against hangs."""
    return harness_settings.hang_timeout


@pytest.fixture(scope="session")
def harness_run(pytestconfig: pytest.Config) -> RunState:
    """The run's servers and template (provisioned here when there is no xdist controller)."""
    return _provision(pytestconfig)


@pytest.fixture(scope="session")
def endpoints(harness_run: RunState) -> Endpoints:
    return harness_run.endpoints


@pytest.fixture(scope="session")
def clone_pool(harness_run: RunState, pytestconfig: pytest.Config) -> Iterator[ClonePool]:
    from harness.isolation.clones import ClonePool

    tag = f"{_worker_id(pytestconfig)}{secrets.token_hex(2)}"
    pool = ClonePool(
        harness_run.endpoints.postgres, harness_run.template, tag, harness_run.clone_pool_size,
        harness_run.hang_timeout, on_handback=pytestconfig.stash[INSIGHT].table_reader(harness_run.endpoints),
        spares=harness_run.spare_clones,
    )  # fmt: skip
    pool.start()
    yield pool
    pool.close(drop=not harness_run.disposable)


@dataclass(frozen=True)
class Database:
    """A database of the run's server: its name, a DSN for the admin role, and `dsn_as(role)` for
    the roles' own logins (their development passwords, `Settings.postgres_logins`)."""

    name: str
    dsn: str = dataclasses.field(repr=False)  # the superuser's password is in it
    logins: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)

    def dsn_as(self, role: str) -> str:
        from harness.migrate.logins import dsn_as

        return dsn_as(self.dsn, role, dict(self.logins))


@pytest.fixture(scope="session")
def logins(harness_run: RunState) -> dict[str, str]:
    """Role → development password, as the run set them on its server (the schema's logins file)."""
    return dict(harness_run.logins)


@pytest.fixture(scope="session")
def worker_database(clone_pool: ClonePool, endpoints: Endpoints, logins: dict[str, str]) -> Iterator[Database]:
    """This worker's own clone, for tests that roll back (the template itself cannot be connected to)."""
    name = clone_pool.take()
    yield Database(name, endpoints.postgres_dsn(name), logins)
    clone_pool.release(name)


@pytest.fixture
def fresh_database(clone_pool: ClonePool, endpoints: Endpoints, logins: dict[str, str]) -> Iterator[Database]:
    """A database of the test's own, cloned from the template ahead of demand and dropped afterwards."""
    name = clone_pool.take()
    yield Database(name, endpoints.postgres_dsn(name), logins)
    clone_pool.release(name)


@pytest_asyncio.fixture
async def blank_database(endpoints: Endpoints) -> AsyncIterator[Database]:
    """An empty database (from template0), for tests that bring their own schema."""
    import asyncpg

    from harness.provision.databases import create_database, drop_database

    name = f"hx_blank_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(endpoints.postgres)
    try:
        await create_database(admin, name)
        yield Database(name, endpoints.postgres_dsn(name))
        await drop_database(admin, name)
    finally:
        await admin.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def worker_connection(worker_database: Database) -> AsyncIterator[WorkerConnection]:
    """pg_conn's connection, kept for the worker on the session's event loop."""
    from harness.isolation.worker_connection import WorkerConnection

    holder = WorkerConnection(worker_database.dsn, asyncio.get_running_loop())
    yield holder
    await holder.close()


@pytest.fixture
def pg_conn(
    request: pytest.FixtureRequest,
    worker_connection: WorkerConnection,
    worker_database: Database,
    clone_pool: ClonePool,
) -> Iterator[asyncpg.Connection]:
    """A connection to the worker's clone inside a transaction rolled back after the test: the
    worker's one connection when the test runs on the session's event loop, else one of its own.
    A sync fixture driving the session's loop itself: pytest-asyncio would wrap an async one's set-up
    and teardown, on every test, in tasks, context copies and finalizers of its own."""
    if _test_loop_scope(request) != "session":
        yield request.getfixturevalue("pg_conn_of_its_own")
        return
    loan = worker_connection.home.run_until_complete(worker_connection.borrow())
    yield loan.connection
    worker_connection.home.run_until_complete(worker_connection.give_back(loan))
    _replace_if_written(loan, clone_pool, worker_database.name)


@pytest_asyncio.fixture
async def pg_conn_of_its_own(
    worker_connection: WorkerConnection, worker_database: Database, clone_pool: ClonePool
) -> AsyncIterator[asyncpg.Connection]:
    """pg_conn for a test on an event loop of its own: a connection of its own, on that loop."""
    async with worker_connection.lend() as loan:
        yield loan.connection
    _replace_if_written(loan, clone_pool, worker_database.name)  # blocks this test's own loop, and nothing else


def _test_loop_scope(request: pytest.FixtureRequest) -> str:
    """The scope of the event loop pytest-asyncio runs the test on (its `asyncio` marker's
    `loop_scope`, else `asyncio_default_test_loop_scope`)."""
    marker = request.node.get_closest_marker("asyncio")
    scope = (marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")) if marker else None
    return str(scope or request.config.getini("asyncio_default_test_loop_scope") or "function")


def _replace_if_written(loan: Loan, clone_pool: ClonePool, name: str) -> None:
    """A test that committed (or broke the connection, so that nobody can tell) may have written to
    the worker's database: replace it, and say so."""
    if loan.ended_by_test or loan.broke:
        from harness.isolation.worker_connection import TransactionEndedByTest

        clone_pool.renew(name)
        why = "ended pg_conn's transaction itself" if loan.ended_by_test else "broke pg_conn's connection"
        warnings.warn(
            TransactionEndedByTest(
                f"the test {why}: what it committed may have reached the worker's database, so {name} "
                "was replaced by a new clone; a test that commits wants fresh_database"
            ),
            stacklevel=1,
        )


@pytest.fixture
def query_budget(request: pytest.FixtureRequest) -> QueryBudgets:
    """`async with query_budget(statements=3, rows_read=500):` on pg_conn, or `on=` the connection
    the code under test uses (inside a transaction); see harness/query_budget.py."""
    from harness.query_budget import QueryBudgets  # start-up: only tests that budget their queries

    return QueryBudgets(lambda: request.getfixturevalue("pg_conn") if "pg_conn" in request.fixturenames else None)


PoolFactory = Callable[..., Awaitable["asyncpg.Pool"]]


@pytest_asyncio.fixture
async def pg_pool_factory(worker_database: Database) -> AsyncIterator[PoolFactory]:
    """`await pg_pool_factory(dsn=None, **asyncpg_pool_kwargs)`; every pool is closed after the test."""
    import asyncpg

    pools: list[asyncpg.Pool] = []

    async def make(dsn: str | None = None, **kwargs: Any) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(dsn or worker_database.dsn, **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.terminate()


@pytest.fixture(scope="session")
def redis_database(endpoints: Endpoints, harness_settings: Settings, pytestconfig: pytest.Config) -> Iterator[int]:
    """This session's Redis logical database, held alone while it runs (`claimed_database`)."""
    from harness.isolation.redis_databases import claimed_database, database_count  # start-up: redis-py

    worker = _worker_id(pytestconfig)
    preferred = int(worker[2:]) if worker.startswith("gw") else 0
    count = database_count(endpoints.redis, harness_settings.hang_timeout)
    with claimed_database(harness_settings.state_dir, endpoints.redis, preferred, count) as number:
        yield number


@pytest_asyncio.fixture
async def redis_client(endpoints: Endpoints, redis_database: int) -> AsyncIterator[aioredis.Redis]:
    """A client on this session's logical database, flushed before each test."""
    import redis.asyncio as aioredis  # start-up: only tests that use Redis load redis-py

    client = aioredis.Redis.from_url(endpoints.redis_url(redis_database))
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@dataclass(frozen=True)
class PrivateEnvironment:
    """Servers of the test's own, for faults that would disturb other workers: endpoints, faults, a
    database cloned from the template."""

    endpoints: Endpoints
    faults: Faults
    database: Database


@asynccontextmanager
async def _own_environment(harness_settings: Settings) -> AsyncIterator[tuple[Environment, PrivateEnvironment]]:
    """Servers of the caller's own with a database cloned from the template, closed on the way out."""
    if harness_settings.backend == "external":
        pytest.skip("the external backend cannot start servers of the test's own")
    import asyncpg

    from harness.isolation.run import prepare_template
    from harness.migrate.logins import load_logins
    from harness.provision import open_environment
    from harness.provision.databases import create_database

    settings = harness_settings.model_copy(update={"reuse": False, "keep": False, "durable_commits": True})
    env = await open_environment(settings)
    try:
        template, _ = await prepare_template(settings, env.endpoints)
        name = f"{template}_private"
        admin = await asyncpg.connect(env.endpoints.postgres)
        try:
            await create_database(admin, name, template)
        finally:
            await admin.close()
        logins = load_logins(settings.postgres_logins)
        database = Database(name, env.endpoints.postgres_dsn(name), logins)
        yield env, PrivateEnvironment(env.endpoints, env.faults, database)
    finally:
        await env.close()


@pytest_asyncio.fixture
async def private_environment(harness_settings: Settings) -> AsyncIterator[PrivateEnvironment]:
    async with _own_environment(harness_settings) as (_, private):
        yield private


@dataclass(frozen=True)
class ReplicatedEnvironment(PrivateEnvironment):
    """A PrivateEnvironment whose primary streams to `replica`; `endpoints.replica` is its DSN and
    `replica_database` the private database as the replica serves it."""

    replica: Replica
    replica_database: Database


async def _start_replica(env: Environment, settings: Settings, synchronous: bool) -> Replica:
    from harness.provision.replica import start_replica  # start-up: only tests with a replica

    return await start_replica(env, settings, synchronous=synchronous)


@asynccontextmanager
async def _replicated(harness_settings: Settings, synchronous: bool) -> AsyncIterator[ReplicatedEnvironment]:
    async with (
        _own_environment(harness_settings) as (env, private),
        await _start_replica(env, harness_settings, synchronous) as replica,
    ):
        database = private.database
        yield ReplicatedEnvironment(
            dataclasses.replace(private.endpoints, replica=replica.dsn), private.faults, database, replica,
            Database(database.name, replica.postgres_dsn(database.name), database.logins),
        )  # fmt: skip


@pytest.fixture
def replicated_environment(
    harness_settings: Settings,
) -> Callable[[bool], contextlib.AbstractAsyncContextManager[ReplicatedEnvironment]]:
    """`async with replicated_environment(synchronous) as env:` a primary and its streaming replica
    of the test's own, for faults that end the primary (failover)."""
    return functools.partial(_replicated, harness_settings)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_replica(harness_settings: Settings) -> AsyncIterator[ReplicatedEnvironment]:
    """A primary and its asynchronous replica of this worker's own, shared by the session's tests
    that ask for it: opt-in, so a run that does not pays nothing."""
    async with _replicated(harness_settings, synchronous=False) as env:
        yield env


@pytest.fixture
def faults(private_environment: PrivateEnvironment) -> Faults:
    """The faults API on the test's private environment."""
    return private_environment.faults
