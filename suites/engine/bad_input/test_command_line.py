"""Bad input on the command line and at the pytest plugin's start-up: one line naming the input, exit
status 2 for a bad option or setting and 1 for any other failure, never a traceback. Each case runs
the real `harness` (or pytest) in a process of its own, against the run's real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.errors import ProvisionError
from harness.provision import Endpoints
from harness.provision.endpoints import with_credentials, with_database
from harness.provision.waiting import postgres_answers, redis_answers, wait_for
from harness.pytest_plugin import Database

ROOT = Path(__file__).resolve().parents[3]
USAGE, FAILURE = 2, 1
SECRET = "s3cret-in-the-dsn"


@dataclass(frozen=True)
class Case:
    """`harness ARGS` with ENV; the exit status it must end with and what its one line must name.
    Arguments may hold {refused} {wrong_password} {missing_database} {database} {migrations}."""

    args: tuple[str, ...]
    status: int
    names: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    migration: bytes | None = None  # written as the up file of the only migration in {migrations}


CORPUS = {
    "dsn-scheme": Case(("migrate", "status", "--dsn", f"mysql://u:{SECRET}@127.0.0.1/x"), USAGE, ("mysql://u:***@",)),
    "dsn-port-text": Case(("migrate", "status", "--dsn", "postgresql://u@127.0.0.1:abc/x"), USAGE, ("port abc",)),
    "dsn-port-too-big": Case(("migrate", "up", "--dsn", "postgresql://u@127.0.0.1:70000/x"), USAGE, ("port 70000",)),
    "dsn-port-zero": Case(("migrate", "status", "--dsn", "postgresql://u@127.0.0.1:0/x"), USAGE, ("port 0",)),
    "refused": Case(("migrate", "status", "--dsn", "{refused}"), FAILURE, ("{refused}", "refused")),
    "unknown-host": Case(("migrate", "status", "--dsn", "postgresql://u@host.invalid/x"), FAILURE, ("host.invalid",)),
    "wrong-password": Case(
        ("migrate", "status", "--dsn", "{wrong_password}"), FAILURE, ("password authentication failed", ":***@")
    ),
    "missing-database": Case(
        ("migrate", "status", "--dsn", "{missing_database}"), FAILURE, ('"hx_missing_database" does not exist',)
    ),
    "empty-migration": Case(
        ("migrate", "up", "--dsn", "{database}", "--dir", "{migrations}"),
        FAILURE,
        ("0001_first.up.sql: no SQL statement (empty)",),
        {"HARNESS_SQUAWK": "off"},
        b"",
    ),
    "comment-only-migration": Case(
        ("migrate", "status", "--dsn", "{database}", "--dir", "{migrations}"),
        FAILURE,
        ("0001_first.up.sql: no SQL statement (only comments)",),
        {},
        b"-- CREATE TABLE t ();\n/* later */\n",
    ),
    "non-utf8-migration": Case(
        ("migrate", "up", "--dry-run", "--dsn", "{database}", "--dir", "{migrations}"),
        FAILURE,
        ("0001_first.up.sql: not UTF-8",),
        {},
        "CREATE TABLE caf\u00e9 ();\n".encode("latin-1"),
    ),
    "backend-option": Case(("up", "--backend", "nope"), USAGE, ("--backend", "'nope'")),
    "backend-variable": Case(("status",), USAGE, ("HARNESS_BACKEND=xyz",), {"HARNESS_BACKEND": "xyz"}),
    "postgres-port-variable": Case(("migrate", "status"), USAGE, ("POSTGRES_PORT=abc",), {"POSTGRES_PORT": "abc"}),
    "redis-port-variable": Case(("status",), USAGE, ("REDIS_PORT=65536",), {"REDIS_PORT": "65536"}),
    "database-url-port": Case(
        ("migrate", "status"),
        USAGE,
        ("TEST_DATABASE_URL=", "port 99999"),
        {"TEST_DATABASE_URL": "postgresql://u@127.0.0.1:99999/x"},
    ),
    "clone-pool-size": Case(("status",), USAGE, ("HARNESS_CLONE_POOL_SIZE=0",), {"HARNESS_CLONE_POOL_SIZE": "0"}),
    "down-zero-steps": Case(("migrate", "down", "--steps", "0", "--dsn", "{database}"), USAGE, ("--steps",)),
    "down-negative-steps": Case(("migrate", "down", "--steps", "-2", "--dsn", "{database}"), USAGE, ("--steps",)),
    "report-missing-run": Case(("report", "{migrations}/no-such-run"), USAGE, ("no-such-run: no such run directory",)),
}


def closed_dsn() -> str:
    """A DSN with a password whose port nothing listens on."""
    return f"postgresql://u:{SECRET}@127.0.0.1:{closed_port()}/x"


def harness(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "COLUMNS": "80", **env},
    )  # fmt: skip


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_one_clear_line(result: subprocess.CompletedProcess[str], status: int, *names: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == status, output
    assert "Traceback" not in output
    assert SECRET not in output, "a password was printed"
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 3, result.stderr
    for name in names:
        assert name in result.stderr, result.stderr
    return result.stderr


@pytest.mark.parametrize("case", CORPUS.values(), ids=CORPUS.keys())
def test_bad_input_is_one_line_naming_it_and_the_exit_status_says_whose_fault(
    case: Case, endpoints: Endpoints, fresh_database: Database, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    if case.migration is not None:
        (migrations / "0001_first.up.sql").write_bytes(case.migration)
        (migrations / "0001_first.down.sql").write_text("SELECT 1;\n")
    user = urlsplit(endpoints.postgres).username
    values = {
        "refused": closed_dsn(),
        "wrong_password": with_credentials(fresh_database.dsn, user, SECRET),
        "missing_database": with_database(endpoints.postgres, "hx_missing_database"),
        "database": fresh_database.dsn,
        "migrations": str(migrations),
    }
    args = [arg.format(**values) for arg in case.args]
    env = {"HARNESS_STATE_DIR": str(tmp_path / "state"), **case.env}
    names = [name.format(refused=values["refused"].replace(SECRET, "***")) for name in case.names]
    assert_one_clear_line(harness(args, env), case.status, *names)


def pytest_run(tmp_path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A pytest session of its own (the harness plugin loads by its entry point) on a test that needs
    the servers."""
    (tmp_path / "test_needs_servers.py").write_text("def test_needs_servers(harness_run):\n    pass\n")
    outer = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HARNESS_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args, "test_needs_servers.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
        env={**outer, "HARNESS_STATE_DIR": str(tmp_path / "state"), **env},
    )  # fmt: skip


def harness_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "INTERNALERROR" not in output, output
    return [line for line in output.splitlines() if "harness: " in line]


def test_a_bad_setting_stops_a_pytest_session_with_one_line(tmp_path: Path) -> None:
    result = pytest_run(tmp_path, env={"HARNESS_CLONE_POOL_SIZE": "0"})
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    [line] = harness_lines(result)
    assert "HARNESS_CLONE_POOL_SIZE=0: input should be greater than or equal to 1" in line


def skip_unless_redis_takes_a_password(endpoints: Endpoints) -> None:
    """Only a shipped ACL makes Redis refuse a wrong password: its default user accepts any."""
    if not urlsplit(endpoints.redis).password:
        pytest.skip("the run's Redis takes no password (no ACL file in force): nothing to get wrong")


def test_a_wrong_redis_password_stops_a_pytest_session_at_once_with_one_line(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    skip_unless_redis_takes_a_password(endpoints)
    redis = urlsplit(endpoints.redis)
    wrong = with_credentials(endpoints.redis, redis.username, SECRET)
    result = pytest_run(
        tmp_path, "--backend", "external", env={"TEST_DATABASE_URL": endpoints.postgres, "REDIS_URL": wrong}
    )
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout + result.stderr
    [line] = harness_lines(result)
    assert "AuthenticationError" in line
    assert ":***@" in line
    assert SECRET not in line
    assert "timed out" not in line  # the retry loop's only way out is its deadline, which says so


@pytest.mark.parametrize("server", ["postgres", "redis"])
async def test_a_refusal_no_retry_can_change_fails_the_wait_at_once(endpoints: Endpoints, server: str) -> None:
    """Wrong credentials end the wait on the first answer: the deadline is never reached, so the
    error is the refusal and not the loop's 'timed out after 30s'."""
    if server == "postgres":
        dsn = with_credentials(endpoints.postgres, urlsplit(endpoints.postgres).username, SECRET)
        check, expected = (lambda: postgres_answers(dsn)), "InvalidPasswordError"
    else:
        skip_unless_redis_takes_a_password(endpoints)
        url = with_credentials(endpoints.redis, urlsplit(endpoints.redis).username, SECRET)
        check, expected = (lambda: redis_answers(url)), "AuthenticationError"
    with pytest.raises(ProvisionError) as refused:
        await wait_for(check, server, timeout=30)
    assert f"{server} refused us: {expected}" in str(refused.value)
    assert "timed out" not in str(refused.value)


@pytest.mark.parametrize(
    ("shard", "says"),
    [("3/2", "I must be from 1 to N"), ("0/2", "I must be from 1 to N"), ("x", "expected I/N")],
)
def test_a_bad_shard_stops_a_pytest_session_with_one_line_before_any_server(
    tmp_path: Path, shard: str, says: str
) -> None:
    result = pytest_run(tmp_path, f"--harness-shard={shard}", env={})
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    [line] = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert line.startswith(f"ERROR: --harness-shard {shard}:"), line
    assert says in line, line
    assert not (tmp_path / "state").exists()
