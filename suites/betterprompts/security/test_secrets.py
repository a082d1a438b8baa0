"""Secrets never leak. Every password a run knows (the Postgres roles' development logins, the
Redis ACL users' development passwords, the run's own superuser password) and every password a
user typed wrong stays out of what a user runs and reads: the command line's output (up, status,
report, down, failing commands), the state directory's files that others may read, the servers'
logs, and the data layer's error when a login fails. `harness env` and `harness clone` are the
commands whose job is to print them, for the shell or the program that asks."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import asyncpg
import pytest

from betterprompts_db.data.postgres import PoolSettings, connect
from betterprompts_db.data.redis import RedisConfig, open_redis
from betterprompts_db.keyspace import load_keyspace
from harness.config import Settings
from harness.provision.endpoints import Endpoints, with_credentials
from harness.pytest_plugin import Database
from suites.engine.provision.remains import purge

ROOT = Path(__file__).resolve().parents[3]
SHORTEST = 8  # a password shorter than this cannot be told apart from other text (an external server's "postgres")


class Secrets:
    """Passwords by where they come from; `found_in` names those a text holds, as typed or
    percent-encoded (as a URL carries them). The values never appear in a failure message."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, source: str, password: str | None) -> None:
        if password and len(password) >= SHORTEST:
            self.values[source] = password

    def add_from_url(self, source: str, url: str) -> None:
        password = urlsplit(url).password
        self.add(source, unquote(password) if password else None)

    def masked(self, text: str) -> str:
        """`text` with each password replaced by <where it comes from>, fit for a failure message."""
        for source, value in self.values.items():
            text = text.replace(value, f"<{source}>").replace(quote(value, safe=""), f"<{source}>")
        return text

    def found_in(self, text: str | bytes) -> list[str]:
        haystack = text.encode() if isinstance(text, str) else text
        return sorted(
            source
            for source, value in self.values.items()
            if any(form.encode() in haystack for form in {value, quote(value, safe="")})
        )

    def __repr__(self) -> str:
        return f"Secrets({sorted(self.values)})"


@pytest.fixture
def known(harness_settings: Settings, endpoints: Endpoints, logins: dict[str, str]) -> Secrets:
    found = Secrets()
    for role, password in logins.items():
        found.add(f"postgres login {role}", password)
    for name, user in load_keyspace(harness_settings.redis_keyspace).users.items():
        found.add(f"redis user {name}", user.dev_password)
    found.add_from_url("this run's postgres superuser", endpoints.postgres)
    found.add_from_url("this run's redis admin", endpoints.redis)
    return found


def harness(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "COLUMNS": "200", **env},
    )  # fmt: skip


class Session:
    """A user's commands in one state directory, and everything they printed."""

    def __init__(self, env: dict[str, str], known: Secrets) -> None:
        self.env = env
        self.known = known
        self.printed: dict[str, str] = {}

    def run(self, *args: str, status: int = 0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        done = harness(*args, env={**self.env, **(env or {})})
        command = f"harness {' '.join(args)}"
        self.printed[f"{command} (exit {done.returncode})"] = done.stdout + done.stderr
        if done.returncode != status:
            pytest.fail(f"{self.known.masked(command)}: exit {done.returncode}, expected {status}; its error output"
                        f" ends:\n{self.known.masked(done.stderr)[-1500:]}")  # fmt: skip
        return done

    def leaks(self) -> dict[str, list[str]]:
        """Which command printed which password (the command lines masked: some hold a password)."""
        return {
            self.known.masked(command): found
            for command, text in self.printed.items()
            if (found := self.known.found_in(text))
        }


@pytest.fixture
def session(harness_settings: Settings, known: Secrets) -> Iterator[Session]:
    """A private state directory, removed with what a user runs (`harness gc --all`), then purged
    of whatever a failed test left there."""
    if harness_settings.backend == "external":
        pytest.skip("`harness up` starts servers; the external backend has none to start")
    state_dir = harness_settings.state_dir.parent / f"harness-secrets-{secrets.token_hex(4)}"
    env = {**harness_settings.as_environment(), "HARNESS_STATE_DIR": str(state_dir), "HARNESS_BCRYPT_COST": "4"}
    yield Session(env, known)
    harness("gc", "--all", env=env)
    purge(state_dir)


def exported(text: str) -> dict[str, str]:
    """`harness env --export`'s variables (its values are shell-quoted only when they must be)."""
    return {m["name"]: m["value"].strip("'") for m in re.finditer(r"^export (?P<name>\w+)=(?P<value>\S+)$", text, re.M)}


def files_below(directory: Path) -> Iterator[Path]:
    """Every file below `directory`; the servers keep creating and removing files while the walk
    runs (a dropped database's directory, a pid file), and os.walk skips what vanished."""
    for parent, _, names in os.walk(directory):
        for name in names:
            yield Path(parent, name)


def readable_by_others(directory: Path) -> Iterator[Path]:
    """Files below `directory` that its owner's group or anyone else may read (mode & 0o044)."""
    for path in files_below(directory):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mode & 0o044:
                yield path
        except FileNotFoundError:  # a server removed it meanwhile (a pid file, a temporary one)
            continue


def server_logs(directory: Path) -> list[Path]:
    return sorted(p for p in files_below(directory) if p.suffix == ".log")


def failed_test_results(run_dir: Path, dsns: list[str]) -> Path:
    """A real pytest run whose tests fail the way a connection test can: each assertion shows its
    DSN, password and all, so the JUnit XML holds them (as CI's results directory would)."""
    run_dir.mkdir()
    tests = "".join(f"def test_connects_to_the_other_database_{n}():\n    assert {dsn!r}.endswith('/other')\n\n"
                    for n, dsn in enumerate(dsns))  # fmt: skip
    (run_dir / "test_connect.py").write_text(tests)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_connect.py",
         "--junitxml=junit-connect.xml", "-o", "junit_family=xunit1"],
        cwd=run_dir, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},  # a plain pytest: no harness servers
    )  # fmt: skip
    (run_dir / "test_connect.py").unlink()
    assert (run_dir / "junit-connect.xml").read_text().count(".endswith('/other')") >= len(dsns)
    return run_dir


def exposed_in(state_dir: Path, known: Secrets) -> dict[str, list[str]]:
    """The state directory's files that others may read, and its servers' logs, that hold a password."""
    exposed = {}
    for path in sorted({*readable_by_others(state_dir), *server_logs(state_dir)}):
        try:
            found = known.found_in(path.read_bytes())
        except FileNotFoundError:  # removed since the walk saw it
            continue
        if found:
            exposed[str(path.relative_to(state_dir))] = found
    return exposed


def password_in_query(dsn: str, password: str) -> str:
    """`dsn` as postgres with `password` in the query string, where libpq reads one too."""
    return with_credentials(dsn, None, None).replace("://", "://postgres@", 1) + f"?password={password}"


def fail_to_log_in(session: Session, urls: dict[str, str], logins: dict[str, str], typed_wrong: str) -> None:
    """What a user gets wrong: a password, a role's password given to another role, a DSN libpq
    refuses, a password in the query string, a login that may not read the migrations' table, a
    Redis password."""
    database = urls["DATABASE_URL"]
    in_query = password_in_query(database, typed_wrong)
    session.run("migrate", "up", "--dsn", with_credentials(database, "postgres", typed_wrong), status=1)
    session.run("migrate", "status", "--dsn", with_credentials(database, "bp_readonly", logins["bp_app"]), status=1)
    session.run("migrate", "status", "--dsn", database + "?sslmode=bogus", status=2)
    session.run("migrate", "status", "--dsn", in_query, status=1)
    session.run("migrate", "status", "--dsn", f"{in_query}&sslmode=bogus", status=2)
    session.run("migrate", "status", env={"TEST_DATABASE_URL": with_credentials(database, "bp_app", typed_wrong)},
                status=1)  # fmt: skip
    session.run("migrate", "status", "--dsn", urls["BP_READONLY_DATABASE_URL"], status=1)  # may not read harness.*
    wrong_redis = {
        "TEST_DATABASE_URL": database,
        "REDIS_URL": with_credentials(urls["REDIS_URL"], "bp_app", typed_wrong),
    }
    session.run("up", "--backend", "external", "--detach", "--seed", "", status=1, env=wrong_redis)


# A whole user session (an environment started, a dozen CLI processes): 188 s on a machine at load
# 10, so the suite-wide hang guard (180 s) is too tight for it.
@pytest.mark.timeout(600)
async def test_only_harness_env_and_clone_print_passwords_whatever_else_a_user_runs(
    session: Session, known: Secrets, logins: dict[str, str], tmp_path: Path
) -> None:
    session.run("up", "--detach", "--seed", "")
    printed = harness("env", "--export", env=session.env)
    assert printed.returncode == 0, known.masked(printed.stderr)
    urls = exported(printed.stdout)
    roles = {
        "BP_OWNER_DATABASE_URL": "bp_owner",
        "BP_APP_DATABASE_URL": "bp_app",
        "BP_READONLY_DATABASE_URL": "bp_readonly",
    }
    assert set(urls) == {"DATABASE_URL", "REDIS_URL", *roles}, sorted(urls)
    known.add_from_url("the up environment's postgres superuser", urls["DATABASE_URL"])
    shown = set(known.found_in(printed.stdout))  # never the text itself in a failure: it holds the passwords
    assert {"the up environment's postgres superuser", "postgres login bp_app", "postgres login bp_readonly",
            "redis user bp_admin"} <= shown  # fmt: skip
    for name, role in roles.items():
        conn = await asyncpg.connect(urls[name])
        try:
            assert await conn.fetchval("SELECT session_user") == role
        finally:
            await conn.close()

    session.run("status")
    session.run("up", "--detach", "--seed", "")  # finds the running one and says so
    cloned = harness("clone", "--format", "export", env=session.env)  # prints passwords, as env does
    assert cloned.returncode == 0, known.masked(cloned.stderr)
    session.run("drop", exported(cloned.stdout)["DATABASE_NAME"])
    session.run("drop", "betterprompts", status=2)
    typed_wrong = f"wrong-{secrets.token_hex(8)}"
    known.add("a password typed wrong", typed_wrong)
    wrong = with_credentials(urls["DATABASE_URL"], "postgres", typed_wrong)
    session.run("settings", env={"TEST_DATABASE_URL": wrong, "POSTGRES_PASSWORD": typed_wrong})
    fail_to_log_in(session, urls, logins, typed_wrong)
    in_query = password_in_query(urls["DATABASE_URL"], typed_wrong)
    results = failed_test_results(tmp_path / "results", [urls["DATABASE_URL"], urls["BP_APP_DATABASE_URL"], in_query])
    session.run("report", str(results))
    session.run("report", str(results), "--check", status=1)
    on_page = known.found_in((results / "index.html").read_text())
    assert not on_page, f"the report page shows {on_page}"

    state_dir = Path(session.env["HARNESS_STATE_DIR"])
    if session.env["HARNESS_BACKEND"] == "embedded":  # the docker backend's servers log to docker
        assert {"postgres.log", "redis.log"} <= {p.name for p in server_logs(state_dir)}
    exposed = exposed_in(state_dir, known)
    assert not exposed, f"files others may read, or server logs, hold passwords: {exposed}"

    session.run("down")
    session.run("gc", "--all")
    session.run("env", status=1)  # nothing runs: nothing to print
    leaks = session.leaks()
    assert not leaks, f"commands other than `harness env` and `clone` printed passwords: {leaks}"


def test_this_runs_state_directory_shows_no_password_to_others_or_in_its_logs(
    harness_settings: Settings, known: Secrets
) -> None:
    if harness_settings.backend == "external":
        pytest.skip("the external backend keeps no servers, logs or secrets in the state directory")
    exposed = exposed_in(harness_settings.state_dir, known)
    assert not exposed, f"files others may read, or server logs, hold passwords: {exposed}"


def error_text(exc: BaseException) -> str:
    """All a caller could show of an error: its message, repr and whole traceback, causes included."""
    return f"{exc}\n{exc!r}\n" + "".join(traceback.format_exception(exc))


async def test_a_failed_postgres_login_through_the_data_layer_names_no_password(
    fresh_database: Database, known: Secrets, logins: dict[str, str]
) -> None:
    typed_wrong = f"wrong-{secrets.token_hex(8)}"
    known.add("a password typed wrong", typed_wrong)
    attempts = {
        "a password typed wrong": with_credentials(fresh_database.dsn, "bp_app", typed_wrong),
        "another role's password": with_credentials(fresh_database.dsn, "bp_app", logins["bp_readonly"]),
    }
    for attempt, dsn in attempts.items():
        with pytest.raises(Exception) as failed:  # noqa: PT011  whatever it raises, its text is what counts
            await connect(dsn, PoolSettings(min_size=1, max_size=1))
        text = error_text(failed.value)
        held = known.found_in(text)
        assert not held, f"{attempt}: the error holds {held}"
        assert re.search("authentication|credentials", text), f"{attempt}: {type(failed.value).__name__}"


async def test_a_failed_redis_login_through_the_data_layer_names_no_password(
    endpoints: Endpoints, harness_settings: Settings, known: Secrets
) -> None:
    keyspace = load_keyspace(harness_settings.redis_keyspace)
    if "bp_app" not in keyspace.users or not urlsplit(endpoints.redis).password:
        pytest.skip("this Redis runs without the shipped ACL users")
    typed_wrong = f"wrong-{secrets.token_hex(8)}"
    known.add("a password typed wrong", typed_wrong)
    for attempt, password in (("a password typed wrong", typed_wrong),
                              ("another user's password", keyspace.users["bp_readonly"].dev_password)):  # fmt: skip
        layer = open_redis(RedisConfig(with_credentials(endpoints.redis, "bp_app", password)), keyspace)
        try:
            with pytest.raises(Exception) as failed:  # noqa: PT011  whatever it raises, its text is what counts
                await layer.sessions.get("nobody")
        finally:
            await layer.close()
        text = error_text(failed.value)
        held = known.found_in(text)
        assert not held, f"{attempt}: the error holds {held}"
        assert re.search("authentication|credentials", text), f"{attempt}: {type(failed.value).__name__}"


def test_the_objects_that_hold_a_url_show_no_password_in_their_repr(
    known: Secrets, endpoints: Endpoints, fresh_database: Database
) -> None:
    """What a failed assertion or a log line prints of them."""
    settings = Settings(test_database_url=endpoints.postgres, redis_url=endpoints.redis, backend="external")
    shown = [repr(settings), repr(RedisConfig(endpoints.redis)), repr(fresh_database), repr(endpoints)]
    for text in shown:
        assert not known.found_in(text), known.masked(text)
