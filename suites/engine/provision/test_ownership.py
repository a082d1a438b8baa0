"""What a run owns it ends, however it was started; what it does not own it leaves alone; and no
other user of the machine gets into what it starts."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis

from harness.config import Settings
from harness.provision import open_environment
from harness.provision.gc import collect_garbage
from harness.provision.registry import RECORD, EnvRecord
from harness.runtime import bring_down
from suites.engine.provision.remains import (
    ROOT,
    marked_servers,
    nothing_left,
    opened_directory,
    start_owner,
    wait_until,
)


@pytest.fixture
def embedded(isolated_settings: Settings) -> Settings:
    if isolated_settings.backend != "embedded":
        pytest.skip("the embedded backend's own processes")
    return isolated_settings


def test_servers_end_with_a_sigkilled_owner_that_ignores_sigquit_sigint_and_sighup(embedded: Settings) -> None:
    owner = start_owner(embedded, "run", hold=True, ignore_signals=True)
    directory = opened_directory(owner)
    record = EnvRecord.load(directory)
    assert len(record.processes) == 2
    owner.kill()
    owner.wait()
    wait_until(lambda: nothing_left(record), "postgres and redis-server to end with their owner", embedded.hang_timeout)
    assert marked_servers(embedded.state_dir) == []


def test_servers_whose_directory_was_deleted_are_found_by_their_markers(embedded: Settings) -> None:
    owner = start_owner(embedded.model_copy(update={"keep": True}), "run", hold=False)
    directory = opened_directory(owner)
    owner.wait()
    record = EnvRecord.load(directory)
    shutil.rmtree(directory)
    servers = marked_servers(embedded.state_dir)
    assert {p.pid for p in servers} >= alive(record)  # alive(...) after: postgres may have ended meanwhile
    # postgres shuts itself down once it sees its data directory gone (it rechecks every minute);
    # redis-server never does: gc must find whichever is still there
    kept = collect_garbage(embedded.state_dir, str(embedded.project_root))
    assert kept.removed == []  # persistent: only --all
    assert found(kept.kept, record) >= alive(record), kept
    assert any("redis-server" in line for line in kept.kept), kept
    done = collect_garbage(embedded.state_dir, str(embedded.project_root), everything=True)
    # postgres may end by itself between any two lines here; redis-server only by gc's hand
    assert any("redis-server" in line for line in done.removed), done
    assert found(done.removed, record), done
    assert nothing_left(record)


def alive(record: EnvRecord) -> set[int]:
    return {ref.pid for ref in record.processes if ref.alive()}


def found(lines: list[str], record: EnvRecord) -> set[int]:
    """The record's servers that gc's lines name (`process <pid> (<name>) of deleted …`)."""
    return {ref.pid for ref in record.processes if any(line.startswith(f"process {ref.pid} ") for line in lines)}


def kept_project(directory: Path, settings: Settings) -> Settings:
    """Kept `settings` of another project: the one whose pyproject.toml is in `directory`."""
    directory.mkdir()
    (directory / "pyproject.toml").write_text("")
    return settings.model_copy(update={"project_file": directory / "pyproject.toml", "keep": True})


async def test_gc_all_leaves_other_projects_and_live_owners_alone(isolated_settings: Settings, tmp_path: Path) -> None:
    other_project = tmp_path / "other"
    owner = start_owner(kept_project(other_project, isolated_settings), "run", hold=False, cwd=other_project)
    theirs = opened_directory(owner)
    owner.wait()
    ours = await open_environment(isolated_settings)  # this process owns it and is alive
    try:
        done = collect_garbage(isolated_settings.state_dir, str(isolated_settings.project_root), everything=True)
        assert done.removed == []
        assert f"environment {theirs}: belongs to {other_project}" in done.kept
        assert f"environment {ours.directory}: in use by pid {os.getpid()}" in done.kept
        assert theirs.is_dir()
        assert ours.alive()
    finally:
        await ours.close()
        collect_garbage(isolated_settings.state_dir, str(other_project), everything=True)
    assert not theirs.exists()


async def test_down_stops_this_projects_detached_environment_and_names_the_others(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    projects = [tmp_path / "a", tmp_path / "b"]
    directories = []
    for project in projects:
        owner = start_owner(kept_project(project, isolated_settings), "up", hold=False, cwd=project)
        directories.append(opened_directory(owner))
        owner.wait()
    a, b = directories
    done = await bring_down(isolated_settings.model_copy(update={"project_file": projects[0] / "pyproject.toml"}))
    assert done.removed == [f"{a.name} ({isolated_settings.backend})"]
    assert done.kept == [f"{b.name} ({isolated_settings.backend}): belongs to {projects[1]}"]
    assert not a.exists()
    assert b.is_dir()
    collect_garbage(isolated_settings.state_dir, str(projects[1]), everything=True)


def harness(settings: Settings, *args: str) -> subprocess.Popen[str]:
    environ = {**os.environ, **settings.as_environment(), "HARNESS_BCRYPT_COST": "4", "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *args], cwd=ROOT, env=environ, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_two_detached_ups_at_once_share_one_environment(isolated_settings: Settings) -> None:
    runs = [harness(isolated_settings, "up", "--detach", "--seed", "") for _ in range(2)]
    outputs = [run.communicate(timeout=isolated_settings.hang_timeout) for run in runs]
    try:
        for run, (_, stderr) in zip(runs, outputs, strict=True):
            assert run.returncode == 0, stderr
            assert "Traceback" not in stderr
        urls = [[line for line in out.splitlines() if "_URL=" in line] for out, _ in outputs]
        assert urls[0] == urls[1]
        assert len(urls[0]) == 2
        assert len([p for p in isolated_settings.state_dir.iterdir() if p.is_dir()]) == 1
    finally:
        down = harness(isolated_settings, "down")
        down.communicate(timeout=isolated_settings.hang_timeout)
    assert [p for p in isolated_settings.state_dir.iterdir() if p.is_dir()] == []


def test_a_failed_detached_up_leaves_nothing(isolated_settings: Settings, tmp_path: Path) -> None:
    """It fails once its servers are up: building the template, on a migration that does not apply."""
    (tmp_path / "0001_broken.up.sql").write_text("SELECT no_such_function();\n")
    (tmp_path / "0001_broken.down.sql").write_text("SELECT 1;\n")
    run = harness(isolated_settings.model_copy(update={"migrations_dir": tmp_path}), "up", "--detach")
    _, stderr = run.communicate(timeout=isolated_settings.hang_timeout)
    assert run.returncode != 0
    assert "0001_broken" in stderr
    left = (
        [p.name for p in isolated_settings.state_dir.iterdir() if p.is_dir()]
        if isolated_settings.state_dir.exists()
        else []
    )
    assert left == []
    assert marked_servers(isolated_settings.state_dir) == []


async def test_servers_start_from_a_checkout_only_its_owner_can_read(embedded: Settings, tmp_path: Path) -> None:
    private = tmp_path / "home"
    shutil.copytree(ROOT / "schema" / "redis", private)
    private.chmod(0o700)
    settings = embedded.model_copy(
        update={"redis_config": private / "redis.conf", "redis_acl": private / "users.acl",
                "redis_keyspace": private / "keyspace.toml"}
    )  # fmt: skip
    env = await open_environment(settings)
    try:
        client = aioredis.Redis.from_url(env.endpoints.redis)
        assert await client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        await client.aclose()
    finally:
        await env.close()


async def test_state_is_private_and_every_postgres_login_needs_the_password(embedded: Settings) -> None:
    env = await open_environment(embedded)
    try:
        assert stat.S_IMODE(env.directory.stat().st_mode) == 0o700
        assert stat.S_IMODE((env.directory / RECORD).stat().st_mode) == 0o600
        assert stat.S_IMODE(embedded.state_dir.stat().st_mode) & 0o044 == 0  # nobody else lists it
        readable = [str(f) for f in env.directory.rglob("*") if f.is_file() and f.stat().st_mode & 0o077]
        assert readable == []
        dsn = env.endpoints.postgres
        host_port = dsn.rpartition("@")[2].partition("/")[0]
        for target in (
            f"postgresql://postgres@{host_port}/postgres",  # no password, over TCP
            f"postgresql://postgres@/postgres?host={env.directory}&port={host_port.rpartition(':')[2]}",
        ):
            with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError,
                                asyncpg.ClientConfigurationError, OSError)):  # fmt: skip
                await asyncpg.connect(target, password="")
        conn = await asyncpg.connect(dsn)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
    finally:
        await env.close()


def as_other_user(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`argv` run as `daemon`: another local user, with no secret of ours."""
    entry = pwd.getpwnam("daemon")

    def demote() -> None:
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)

    return subprocess.run(argv, capture_output=True, text=True, preexec_fn=demote, check=False,
                          env={"PATH": os.environ["PATH"], "PGCONNECT_TIMEOUT": "10"})  # fmt: skip


async def test_another_local_user_reads_no_state_and_gets_no_login(embedded: Settings) -> None:
    if os.geteuid() != 0 or shutil.which("psql") is None:
        pytest.skip("switching to another local user needs root, and the attempt needs psql")
    env = await open_environment(embedded)
    try:
        port = env.endpoints.postgres.rpartition("@")[2].partition("/")[0].rpartition(":")[2]
        assert as_other_user(["cat", str(env.directory / RECORD)]).returncode != 0
        assert as_other_user(["ls", str(embedded.state_dir)]).returncode != 0
        for host in ("127.0.0.1", str(env.directory)):
            attempt = as_other_user(["psql", "-w", "-X", "-h", host, "-p", port, "-U", "postgres", "-c", "SELECT 1"])
            assert attempt.returncode != 0, attempt.stdout
            assert "password" in attempt.stderr or "Permission denied" in attempt.stderr, attempt.stderr
    finally:
        await env.close()


def test_a_state_directory_made_by_an_older_harness_is_made_private(embedded: Settings) -> None:
    embedded.state_dir.mkdir(mode=0o755)
    embedded.state_dir.chmod(0o755)
    env = asyncio.run(open_environment(embedded))
    try:
        assert stat.S_IMODE(embedded.state_dir.stat().st_mode) & 0o044 == 0
    finally:
        asyncio.run(env.close())


async def test_status_and_reprs_show_no_password(isolated_settings: Settings) -> None:
    env = await open_environment(isolated_settings)
    try:
        passwords = [
            p for p in (urlsplit(env.endpoints.postgres).password, urlsplit(env.endpoints.redis).password) if p
        ]
        assert passwords
        status = harness(isolated_settings, "status")
        shown, errors = status.communicate(timeout=isolated_settings.hang_timeout)
        assert status.returncode == 0, errors
        assert env.record.env_id in shown
        for text in (shown, errors, repr(env.endpoints), env.endpoints.describe()):
            assert not any(p in text for p in passwords), text
    finally:
        await env.close()
