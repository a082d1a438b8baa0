"""`harness env`, `clone` and `drop` as another language's suite uses them: a real `harness up`, the
commands run as processes, their output read the way a Go test, a shell or GitHub Actions reads it."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import redis.asyncio as aioredis

from harness import migrate
from harness.config import Settings
from harness.exports import escape_command, github_env_line
from harness.provision.endpoints import with_database
from suites.engine.cli.commands import harness


def shell_variables(text: str) -> dict[str, str]:
    """What `eval` would set from `NAME=value` or `export NAME=value` lines."""
    found = {}
    for line in text.splitlines():
        (assignment,) = shlex.split(line.removeprefix("export "))
        name, _, value = assignment.partition("=")
        found[name] = value
    return found


def clone(env: dict[str, str]) -> dict[str, Any]:
    made = harness("clone", "--format", "json", env=env)
    assert made.returncode == 0, made.stderr
    document: dict[str, Any] = json.loads(made.stdout)
    return document


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    stderr = result.stderr
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


async def test_env_prints_the_running_environment_for_a_shell_a_program_and_github(
    up_env: dict[str, str], harness_settings: Settings
) -> None:
    plain = harness("env", env=up_env)
    assert plain.returncode == 0, plain.stderr
    variables = shell_variables(plain.stdout)
    roles = {"BP_OWNER_DATABASE_URL", "BP_APP_DATABASE_URL", "BP_READONLY_DATABASE_URL"}  # the logins file's
    assert set(variables) == {"DATABASE_URL", "REDIS_URL", *roles}
    assert harness("env", "--format", "env", env=up_env).stdout == plain.stdout
    exported = harness("env", "--format", "export", env=up_env).stdout
    assert exported == harness("env", "--export", env=up_env).stdout  # the old flag still works
    assert all(line.startswith("export ") for line in exported.splitlines())
    assert shell_variables(exported) == variables

    document = json.loads(harness("env", "--format", "json", env=up_env).stdout)
    assert {name: document[name] for name in variables} == variables
    database = urlsplit(variables["DATABASE_URL"])
    postgres = document["postgres"]
    assert (postgres["host"], postgres["port"], postgres["database"]) == (
        database.hostname,
        database.port,
        harness_settings.database,
    )
    conn = await asyncpg.connect(
        host=postgres["host"], port=postgres["port"], user=postgres["user"],
        password=postgres["password"], database=postgres["database"],
    )  # fmt: skip
    try:
        assert await conn.fetchval("SELECT to_regclass('auth.users')::text") == "auth.users"
    finally:
        await conn.close()
    parts = document["redis"]
    client = aioredis.Redis(
        host=parts["host"], port=parts["port"], db=parts["db"], username=parts["user"], password=parts["password"]
    )
    try:
        assert await client.ping()
    finally:
        await client.aclose()

    github = harness("env", "--format", "github", env=up_env)
    assert github.returncode == 0, github.stderr
    assert {n: v for n, _, v in (line.partition("=") for line in github.stdout.splitlines())} == variables
    masks = github.stderr.splitlines()
    secrets = {unquote(password) for url in variables.values() if (password := urlsplit(url).password)}
    assert {mask.removeprefix("::add-mask::") for mask in masks} == secrets
    assert "::" not in github.stdout  # the file $GITHUB_ENV gets no workflow commands


def test_github_lines_survive_line_breaks_and_percent_signs() -> None:
    line = github_env_line("NOTE", "one\ntwo")
    name, _, rest = line.partition("<<")
    delimiter, value = rest.split("\n", 1)
    assert name == "NOTE"
    assert value == f"one\ntwo\n{delimiter}\n"
    assert github_env_line("URL", "postgresql://u:p@h/d") == "URL=postgresql://u:p@h/d\n"
    assert escape_command("a%b\nc\rd") == "a%25b%0Ac%0Dd"


async def test_two_clones_are_independent_databases_with_the_migrated_schema(
    up_env: dict[str, str], harness_settings: Settings
) -> None:
    first, second = clone(up_env), clone(up_env)
    assert first["DATABASE_NAME"] != second["DATABASE_NAME"]
    assert first["postgres"]["database"] == first["DATABASE_NAME"]
    migrations = len(migrate.load_migrations(harness_settings.migrations_dir))
    mine = await asyncpg.connect(first["DATABASE_URL"])
    theirs = await asyncpg.connect(second["DATABASE_URL"])
    try:
        for conn in (mine, theirs):
            assert await conn.fetchval("SELECT count(*) FROM harness.schema_migrations") == migrations
        await mine.execute("CREATE TABLE public.only_here (n int)")
        assert await theirs.fetchval("SELECT to_regclass('public.only_here')") is None
    finally:
        await mine.close()
        await theirs.close()
    app = await asyncpg.connect(first["BP_APP_DATABASE_URL"])  # the roles' logins, as `env` gives them
    try:
        assert await app.fetchval("SELECT current_user") == "bp_app"
    finally:
        await app.close()
    for made in (first, second):
        assert harness("drop", made["DATABASE_NAME"], env=up_env).returncode == 0


async def test_drop_removes_a_clone_and_refuses_what_harness_did_not_make(
    up_env: dict[str, str], harness_settings: Settings
) -> None:
    working = harness_settings.database  # up's own database: not a clone, never dropped
    made = clone(up_env)
    name = made["DATABASE_NAME"]
    dropped = harness("drop", name, env=up_env)
    assert (dropped.returncode, dropped.stdout.strip()) == (0, f"dropped {name}")
    admin = with_database(made["DATABASE_URL"], "postgres")
    conn = await asyncpg.connect(admin)
    try:
        assert not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await conn.close()
    again = harness("drop", name, env=up_env)
    assert again.returncode == 1
    assert f"no clone {name}" in one_line_error(again)
    foreign = harness("drop", working, env=up_env)
    assert foreign.returncode == 2
    assert "not a clone `harness clone` made" in one_line_error(foreign)
    injected = harness("drop", f'x"; DROP DATABASE {working}; --', env=up_env)
    assert injected.returncode == 2
    assert "not a database name" in one_line_error(injected)
    conn = await asyncpg.connect(admin)
    try:
        assert await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", working)
    finally:
        await conn.close()


def test_with_nothing_running_env_clone_and_drop_say_so_in_one_line(state_env: dict[str, str]) -> None:
    for args in (("env",), ("env", "--format", "json"), ("clone",), ("drop", "hx_0123456789abcdef_c0123456789ab")):
        result = harness(*args, env=state_env)
        assert result.returncode == 1, (args, result.stdout)
        assert "no `harness up` environment runs" in one_line_error(result)
        assert result.stdout == ""
    assert not Path(state_env["HARNESS_STATE_DIR"], "clone.lock").exists()
    both = harness("env", "--export", "--format", "json", env=state_env)
    assert both.returncode == 2
    assert "--export means --format export" in one_line_error(both)
