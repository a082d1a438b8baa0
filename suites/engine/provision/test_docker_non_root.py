"""Run by a user other than root, the docker backend leaves nothing in /dev/shm: the data its
postgres container wrote to the bind-mounted PGDATA (as the image's uid) goes with the run."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import Settings
from harness.provision import choose_backend
from suites.engine.provision.remains import ROOT, purge

USER = "harness-docker-probe"
PROBE = "def test_first(pg_conn):\n    pass\n"


def closed_ancestor(path: Path) -> Path | None:
    """The outermost directory above `path` that other users cannot enter, or None."""
    return next((p for p in reversed(path.parents) if p.stat().st_mode & 0o001 == 0), None)


def as_user(argv: list[str], scratch: Path) -> list[str]:
    """`argv` run as USER. A Python installed in a private directory (pyenv under /root) is made
    reachable in a mount namespace of the command's own: the closed directory is covered by an
    empty tmpfs with the installation bound back in (by way of the empty directory `scratch`), for
    this command only."""
    base = Path(sys.base_prefix)
    closed = closed_ancestor(base / "bin")
    command = ["runuser", "-u", USER, "--", *argv]
    if closed is None:
        return command
    script = 'mount --bind "$1" "$2" && mount -t tmpfs -o mode=755 none "$3" && mkdir -p "$1" && mount --move "$2" "$1"'
    script += ' && shift 3 && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", str(base), str(scratch), str(closed), *command]


@pytest.fixture
def docker_user(harness_settings: Settings) -> str:
    """USER, a non-root member of the docker group (created when missing)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: it creates a non-root user in the docker group and runs pytest as that user")
    backend, why = choose_backend(harness_settings)
    if backend != "docker":
        pytest.skip(f"the docker backend is not this run's ({why})")
    try:
        grp.getgrnam("docker")
    except KeyError:
        pytest.skip("there is no docker group: only root reaches this docker engine")
    for path in (Path(sys.prefix), ROOT):
        if closed_ancestor(path) is not None:
            pytest.skip(f"{path} is below {closed_ancestor(path)}, which a non-root user cannot enter")
    if subprocess.run(["unshare", "-m", "true"], check=False).returncode != 0:
        pytest.skip("unshare -m is not permitted here (needed to reach a Python in a private directory)")
    created = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "-G", "docker", USER],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert created.returncode in (0, 9), created.stderr  # 9: the user exists
    subprocess.run(["usermod", "-aG", "docker", USER], check=True)
    return USER


@pytest.fixture
def probe_dir(docker_user: str) -> Iterator[Path]:
    """A directory the user owns, holding a one-test suite that asks for a database."""
    directory = Path(tempfile.mkdtemp(prefix="harness-non-root-"))
    (directory / "test_probe.py").write_text(PROBE)
    (directory / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    entry = pwd.getpwnam(docker_user)
    for path in (directory, *directory.iterdir()):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_a_non_root_users_docker_run_leaves_nothing_in_dev_shm(
    harness_settings: Settings, docker_user: str, probe_dir: Path
) -> None:
    state_dir = Path("/dev/shm") / f"harness-test-{secrets.token_hex(4)}"
    settings = harness_settings.model_copy(
        update={"backend": "docker", "state_dir": state_dir, "reuse": False, "keep": False}
    )
    scratch = probe_dir / "mount-point"
    scratch.mkdir()
    environ = {**os.environ, **settings.as_environment(), "HOME": str(probe_dir)}
    try:
        run = subprocess.run(
            as_user([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_probe.py"], scratch),
            cwd=probe_dir, env=environ, capture_output=True, text=True, check=False,
            timeout=harness_settings.hang_timeout,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert "backend docker" in run.stdout
        uid = pwd.getpwnam(docker_user).pw_uid
        left = [str(p) for p in Path("/dev/shm").iterdir() if p.name == state_dir.name or p.stat().st_uid == uid]
        assert left == [], f"the run left {left} in /dev/shm"
    finally:
        purge(state_dir)
