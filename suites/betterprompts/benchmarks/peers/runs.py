"""One tool's suite as a pytest process of its own, timed from launch: the whole run's wall and
launch to the first test. Each run gets a fresh directory holding the workload and its tool's
conftest, on the state directory's filesystem (tmpfs) like every server's data."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.provision.embedded import TEST_TUNING, pg_bin_dir

Variant = Literal["write", "read", "none"]
HERE = Path(__file__).parent
REPOSITORY = HERE.parents[3]
ACCOUNT = "harness-peer"  # pytest-postgresql's pg_ctl refuses root: its runs are this user's
LOCAL_IMAGE = "harness-local/pgvector:pg18"
# harness's test tuning but the listening address (a container publishes its port; pg_ctl sets -h),
# and synchronous_commit off as harness runs it
PG_OPTIONS = " ".join(
    [*(f"-c {key}={value}" for key, value in TEST_TUNING.items() if key != "listen_addresses"),
     "-c synchronous_commit=off"]
)  # fmt: skip
OTHERS_OFF = ("-p", "no:harness", "-p", "no:pytest_postgresql")


@dataclass(frozen=True)
class Tool:
    """A way to give each test the schema: the conftest its user writes, the pytest plugins it
    switches off (the others'), and whether it runs unprivileged or needs the docker engine."""

    name: str
    conftest: str
    plugins: tuple[str, ...] = OTHERS_OFF
    unprivileged: bool = False
    docker: bool = False


BARE = Tool("bare-pytest", "conftest_bare.py")
HARNESS = Tool("harness", "conftest_harness.py", ("-p", "no:pytest_postgresql"))
PEERS = {
    tool.name: tool
    for tool in [
        Tool("pytest-postgresql", "conftest_pytest_postgresql.py", ("-p", "no:harness"), unprivileged=True),
        Tool("testcontainers-truncate", "conftest_testcontainers_truncate.py", docker=True),
        Tool("testcontainers-clone", "conftest_testcontainers_clone.py", docker=True),
        Tool("create-database-and-migrate", "conftest_create_migrate.py", ("-p", "no:pytest_postgresql")),
    ]
}


@dataclass(frozen=True)
class Timing:
    wall: float  # launch to exit
    to_first_test: float  # launch to the first test's first line


class Runner:
    """Runs the tools' suites in `scratch`, with harness's settings (`harness_environment`) for the
    tools that use its plugin."""

    def __init__(
        self, scratch: Path, harness_environment: dict[str, str], migrations: Path, hang_timeout: float
    ) -> None:
        self.scratch = scratch
        self.hang_timeout = hang_timeout
        self.environment = {
            **os.environ,
            **harness_environment,
            "HARNESS_BACKEND": "embedded",  # the same binaries as pytest-postgresql's
            "PYTHONPATH": str(REPOSITORY),
            "PYTHONDONTWRITEBYTECODE": "1",
            "TESTCONTAINERS_RYUK_DISABLED": "true",  # its reaper's image cannot be pulled here
            "PEERS_MIGRATIONS": str(migrations.resolve()),
            "PEERS_PG_CTL": str(pg_bin_dir() / "pg_ctl"),
            "PEERS_PG_OPTIONS": PG_OPTIONS,
            "PEERS_IMAGE": LOCAL_IMAGE,
        }
        self.runs = 0

    def run(self, tool: Tool, variant: Variant, tests: int, environment: Mapping[str, str] | None = None) -> Timing:
        """`tests` tests of `variant` through `tool`, with `environment` over the runner's."""
        self.runs += 1
        directory = self.scratch / f"{self.runs}-{tool.name}"
        directory.mkdir()
        shutil.copy(HERE / "workload.py", directory / "test_workload.py")
        shutil.copy(HERE / tool.conftest, directory / "conftest.py")
        (directory / "pytest.ini").write_text("[pytest]\n")
        marker = directory / "first-test"
        environment = {**self.environment, **(environment or {}), "PEERS_VARIANT": variant, "PEERS_TESTS": str(tests),
                       "PEERS_MARKER": str(marker), "HOME": str(directory)}  # fmt: skip
        account = unprivileged_account() if tool.unprivileged else None
        python = sys.executable
        if account is not None:
            shutil.chown(directory, account.pw_uid, account.pw_gid)
            python = reachable_python()
            environment["PYTHONPATH"] += os.pathsep + sysconfig.get_paths()["purelib"]
        argv = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tool.plugins, "-o",
                f"timeout={self.hang_timeout}", f"--basetemp={directory / 'tmp'}", "test_workload.py"]  # fmt: skip
        started = time.time()
        start = time.perf_counter()
        done = subprocess.run(
            argv, cwd=directory, env=environment, capture_output=True, text=True,
            user=account.pw_uid if account else None, group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
            timeout=self.hang_timeout * (tests + 2),  # a backstop: each test has its own guard
        )  # fmt: skip
        wall = time.perf_counter() - start
        if done.returncode != 0 or f"{tests} passed" not in done.stdout:
            tail = (done.stdout + done.stderr)[-3000:]
            raise AssertionError(f"{tool.name} ({variant}, {tests} tests) failed, exit {done.returncode}:\n{tail}")
        first = float(marker.read_text())
        shutil.rmtree(directory, ignore_errors=True)
        return Timing(wall, first - started)


def unprivileged_account() -> pwd.struct_passwd | None:
    """None when we are not root; else ACCOUNT, created (a system user, no home) on first use."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(ACCOUNT)
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ACCOUNT],
                              capture_output=True, text=True)  # fmt: skip
        if made.returncode != 0:
            raise Unavailable(f"pytest-postgresql refuses root; useradd {ACCOUNT}: {made.stderr.strip()}") from None
        return pwd.getpwnam(ACCOUNT)


class Unavailable(Exception):
    """A tool cannot run on this machine; the message says why."""


def reachable_python() -> str:
    """The system's interpreter of our Python version: ours may sit where ACCOUNT cannot reach
    (pyenv under /root); it runs with our site-packages on PYTHONPATH."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if found is None:
        raise Unavailable(f"no /usr/bin/{version} for user {ACCOUNT} (ours, {sys.executable}, is root's)")
    return found


@contextmanager
def scratch_directory(state_dir: Path) -> Iterator[Path]:
    """Beside the state directory (on its filesystem), reachable by ACCOUNT; removed afterwards."""
    state_dir.parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="harness-peers-", dir=state_dir.parent))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
