"""The plugin's session as a user sees it, run as a child pytest: the header and the summary name
what the run used, a wrong migrations directory ends the run in one line before any test, and
under xdist the controller alone provisions, from its configure on, and tears down on SIGTERM."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import Settings
from harness.provision.registry import RECORD, EnvRecord
from suites.engine.provision.remains import nothing_left, purge, wait_until

USES_A_CLONE = """
def test_a_clone(fresh_database):
    assert fresh_database.name.startswith("hx_")
"""
USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR: what the plugin's start-up boundary ends a bad setting with


@pytest.fixture
def child_env(harness_settings: Settings) -> Iterator[dict[str, str]]:
    """The run's settings for a child pytest, with a state directory of its own."""
    if harness_settings.backend == "external":
        pytest.skip("the child run starts servers of its own")
    state_dir = harness_settings.state_dir.parent / f"harness-plugin-{secrets.token_hex(4)}"
    yield {**os.environ, **harness_settings.as_environment(), "HARNESS_STATE_DIR": str(state_dir)}
    purge(state_dir)


def child_pytest(directory: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    (directory / "test_child.py").write_text(USES_A_CLONE)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, str(directory)],
        cwd=directory, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["alone", "xdist"])
def test_the_header_names_backend_and_migrations_and_the_summary_versions_and_template(
    tmp_path: Path, child_env: dict[str, str], harness_settings: Settings, workers: list[str]
) -> None:
    result = child_pytest(tmp_path, child_env, *workers)
    assert result.returncode == 0, result.stdout + result.stderr
    backend = harness_settings.backend
    header = re.search(
        rf"^harness: backend {backend}, migrations {re.escape(str(harness_settings.migrations_dir))}$",
        result.stdout,
        re.MULTILINE,
    )
    assert header is not None, result.stdout
    summary = re.search(
        r"^harness: backend (\w+), PostgreSQL \d+(\.\d+)*\S* \(pgvector \d+\.\d+\.\d+\), Redis \d+\.\d+\.\d+, "
        r"template (hx_[0-9a-f]{16})$",
        result.stdout,
        re.MULTILINE,
    )
    assert summary is not None, result.stdout
    assert summary.group(1) == backend
    assert result.stdout.index(header.group(0)) < result.stdout.index(summary.group(0))  # before the tests, after


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_a_missing_or_empty_migrations_directory_ends_the_run_in_one_line(
    tmp_path: Path, child_env: dict[str, str], state: str
) -> None:
    migrations = tmp_path / "migrations"
    if state == "empty":
        migrations.mkdir()
    result = child_pytest(tmp_path, child_env, "-o", f"harness_migrations_dir={migrations}")
    assert result.returncode == USAGE_ERROR, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert f"harness: migrations directory {migrations} " in output
    assert ("does not exist" if state == "missing" else "holds no migration") in output
    assert "Traceback" not in output
    assert "1 passed" not in output


@pytest.mark.parametrize(
    "listing", [["--collect-only"], ["--fixtures"], ["--markers"], ["--collect-only", "-n", "2"]], ids=" ".join
)
def test_a_run_that_only_lists_starts_no_server(tmp_path: Path, child_env: dict[str, str], listing: list[str]) -> None:
    result = child_pytest(tmp_path, child_env, *listing)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not Path(child_env["HARNESS_STATE_DIR"]).exists(), "no server, no state directory"


def test_a_lone_session_provisions_once_and_its_tests_share_the_servers(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    """Provisioned from configure on, in a thread: every test sees one server, the run's own."""
    (tmp_path / "test_more.py").write_text(
        "PORTS = []\n"
        "def test_one(endpoints):\n    PORTS.append(endpoints.postgres)\n"
        "def test_two(endpoints):\n    assert PORTS == [endpoints.postgres]\n"
    )
    result = child_pytest(tmp_path, child_env, "-p", "no:xdist")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    state_dir = Path(child_env["HARNESS_STATE_DIR"])
    assert not state_dir.exists() or not any(state_dir.iterdir()), "the servers went with the run"


LOADED_AT_THE_END = """
import pathlib, sys
def pytest_unconfigure(config):
    loaded = sorted(m for m in ("redis", "harness.insight.capture", "testcontainers") if m in sys.modules)
    pathlib.Path("loaded").write_text(repr(loaded))
"""


def test_a_run_whose_tests_never_use_redis_never_loads_redis_py(tmp_path: Path, child_env: dict[str, str]) -> None:
    """Its start-up (Redis serving?) and its summary (which version?) ask over a bare connection:
    loading redis-py costs more CPU than the Redis start itself. Nor testcontainers (the docker
    backend makes its containers with the SDK)."""
    (tmp_path / "conftest.py").write_text(LOADED_AT_THE_END)
    result = child_pytest(tmp_path, child_env, "-p", "no:xdist")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^harness: backend \w+, .*, Redis \d+\.\d+\.\d+, template", result.stdout, re.MULTILINE)
    assert (tmp_path / "loaded").read_text() == "[]"


# A thread that keeps making loggers while the tests run, as a thread of the harness's does when
# it imports a module (the docker SDK, in the provisioning thread)
LOGGERS_MADE_MEANWHILE = """
import logging, sys, threading, time
sys.setswitchinterval(1e-6)  # threads take turns often: the race shows in every run, not one in many
done = threading.Event()
def make():
    n = 0
    while not done.is_set():
        logging.getLogger(f"meanwhile.{n}")
        n += 1
        time.sleep(0.0001)
def pytest_configure(config):
    threading.Thread(target=make, daemon=True).start()
def pytest_unconfigure(config):
    done.set()
"""
MANY_PHASES = """
import pytest
@pytest.mark.parametrize("n", range(40))
def test_phase(n):
    pass
"""


def test_pytest_s_walk_of_the_loggers_survives_loggers_made_by_other_threads(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    """pytest's logging walks every logger at each test phase, in the main thread; a logger made
    meanwhile ended the run: "dictionary changed size during iteration"."""
    (tmp_path / "conftest.py").write_text(LOGGERS_MADE_MEANWHILE)
    (tmp_path / "test_phases.py").write_text(MANY_PHASES)
    result = child_pytest(tmp_path, child_env, "-p", "no:xdist")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "41 passed" in result.stdout


def test_a_bad_setting_is_explained_without_loading_redis_py(tmp_path: Path, child_env: dict[str, str]) -> None:
    """The provisioning thread explains it (one line); loading redis-py there cost start-up time."""
    (tmp_path / "conftest.py").write_text(LOADED_AT_THE_END)
    result = child_pytest(tmp_path, {**child_env, "HARNESS_CLONE_POOL_SIZE": "many"}, "-p", "no:xdist")
    assert result.returncode == USAGE_ERROR, result.stdout + result.stderr
    assert "HARNESS_CLONE_POOL_SIZE=many" in result.stdout
    assert (tmp_path / "loaded").read_text() == "[]"


WORKER_LOADED = """
import pathlib, sys
def pytest_unconfigure(config):
    worker = getattr(config, "workerinput", {}).get("workerid", "controller")
    loaded = sorted(m for m in ("pydantic", "harness.config") if m in sys.modules)
    pathlib.Path(f"loaded-{worker}").write_text(repr(loaded))
"""
USES_PG_CONN = """
import pytest
@pytest.mark.asyncio(loop_scope="session")
async def test_pg_conn(pg_conn):
    assert await pg_conn.fetchval("SELECT 1") == 1
"""


def test_xdist_workers_run_their_tests_without_the_settings_model(tmp_path: Path, child_env: dict[str, str]) -> None:
    """The controller hands each worker what its fixtures need of the settings (harness.isolation.state):
    importing the settings model (pydantic) was most of a worker's start before its first test."""
    (tmp_path / "conftest.py").write_text(WORKER_LOADED)
    (tmp_path / "test_conn.py").write_text(USES_PG_CONN)
    result = child_pytest(tmp_path, child_env, "-n", "2", "--dist", "each")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
    assert (tmp_path / "loaded-gw0").read_text() == (tmp_path / "loaded-gw1").read_text() == "[]"
    assert (tmp_path / "loaded-controller").read_text() != "[]", "the controller, which provisions, reads them"


FAILS = """
def test_fails(fresh_database):
    assert False
"""


@pytest.mark.parametrize("workers", [["-p", "no:xdist"], ["-n", "2"]], ids=["alone", "xdist"])
@pytest.mark.parametrize("passes", [True, False], ids=["passing", "failing"])
def test_a_failed_run_keeps_its_postgres_log_and_a_passing_one_does_not(
    tmp_path: Path, child_env: dict[str, str], harness_settings: Settings, workers: list[str], passes: bool
) -> None:
    """Under xdist the controller stops the servers as soon as its workers are done (while xdist
    ends their processes): the run's failure is known by then, and the log kept."""
    if harness_settings.backend != "embedded":
        pytest.skip("the embedded backend's servers write the log kept here")
    kept = tmp_path / "kept"
    if not passes:
        (tmp_path / "test_fails.py").write_text(FAILS)
    result = child_pytest(tmp_path, {**child_env, "HARNESS_FAILED_LOGS_DIR": str(kept)}, *workers)
    assert result.returncode == (0 if passes else 1), result.stdout + result.stderr
    logs = sorted(kept.rglob("*")) if kept.exists() else []
    assert bool(logs) is not passes, logs
    state_dir = Path(child_env["HARNESS_STATE_DIR"])
    assert not state_dir.exists() or not any(state_dir.iterdir()), "the servers went with the run"


WORKER_REPORT = """
import os, pathlib
from harness.provision.registry import EnvRecord

def test_report(endpoints, worker_id):
    state_dir = pathlib.Path(os.environ["HARNESS_STATE_DIR"])
    environments = [p for p in state_dir.iterdir() if p.is_dir()]
    owner = EnvRecord.load(environments[0]).owner.pid
    line = f"{{endpoints.postgres}} {{len(environments)}} {{owner}} {{os.getppid()}}"
    pathlib.Path({directory!r}, worker_id).write_text(line)
"""
# the controller's hook, run before the plugin's own (a conftest's implementation is called first)
PROVISIONING_SEEN = """
import pathlib
from harness.pytest_plugin import PROVISIONING

def pytest_configure_node(node):
    pathlib.Path({directory!r}, "seen-" + node.gateway.id).write_text(str(PROVISIONING in node.config.stash))
"""


def test_the_xdist_controller_provisions_once_and_every_worker_uses_its_servers(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    """Both workers (each runs the test: `--dist each`) see one environment, the controller's."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (tmp_path / "test_report.py").write_text(WORKER_REPORT.format(directory=str(reports)))
    result = child_pytest(tmp_path, child_env, "-n", "2", "--dist", "each")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {path.name: path.read_text().split() for path in reports.iterdir()}
    assert sorted(lines) == ["gw0", "gw1"]
    (dsn, count, owner, parent), other = lines.values()
    assert other[0] == dsn, "one server for both workers"
    assert count == "1", "one environment: no worker started its own"
    assert owner == parent == other[3], "owned by the controller, the workers' parent"


def test_the_xdist_controller_starts_provisioning_before_its_first_worker(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    """From configure on, so the servers start while the workers start, not after them."""
    (tmp_path / "conftest.py").write_text(PROVISIONING_SEEN.format(directory=str(tmp_path)))
    result = child_pytest(tmp_path, child_env, "-n", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "seen-gw0").read_text() == "True"
    assert (tmp_path / "seen-gw1").read_text() == "True"


def terminated_while_waiting(
    tmp_path: Path, env: dict[str, str], hang_timeout: float, fixture: str, records: int, *, group: bool
) -> None:
    """A `-n 2` child run whose one test (asking for `fixture`) waits, sent SIGTERM once it started
    and its `records` environments are recorded: to the controller, or (`group`) to every process
    of the run. Nothing of it may be left: not a process, a container or a directory."""
    marker = tmp_path / "started"
    (tmp_path / "test_waits.py").write_text(
        "import pathlib, time, pytest\n"
        "@pytest.mark.asyncio\n"
        f"async def test_waits({fixture}):\n"
        f"    pathlib.Path({str(marker)!r}).write_text('x')\n"
        "    time.sleep(600)\n"
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", str(tmp_path / "test_waits.py")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(marker.exists, "the test to start", hang_timeout)
        state_dir = Path(env["HARNESS_STATE_DIR"])
        recorded = [EnvRecord.load(path.parent) for path in state_dir.glob(f"*/{RECORD}")]
        assert len(recorded) == records, recorded
        if group:
            os.killpg(run.pid, signal.SIGTERM)
        else:
            run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=hang_timeout)
    finally:
        if run.poll() is None:  # a failed assertion above: the child goes too
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()
    assert "KeyboardInterrupt" in output or "Interrupted" in output, output
    assert all(nothing_left(record) for record in recorded)
    assert not state_dir.exists() or list(state_dir.iterdir()) == [], list(state_dir.rglob("*"))[:5]


def test_sigterm_to_an_xdist_controller_tears_its_servers_down(
    tmp_path: Path, child_env: dict[str, str], harness_settings: Settings
) -> None:
    """The controller's environment, and no worker's."""
    terminated_while_waiting(tmp_path, child_env, harness_settings.hang_timeout, "endpoints", 1, group=False)


def test_sigterm_to_an_xdist_runs_process_group_leaves_nothing_behind(
    tmp_path: Path, child_env: dict[str, str], harness_settings: Settings
) -> None:
    """A cancelled CI job signals every process of the run at once: each worker tears down too, so
    the servers of a test's own (private_environment) go with their data."""
    terminated_while_waiting(tmp_path, child_env, harness_settings.hang_timeout, "private_environment", 2, group=True)
