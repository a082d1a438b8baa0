"""Waiting for, and looking for, what an environment leaves behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from harness.config import Settings
from harness.errors import ProvisionError
from harness.provision.registry import LABEL_STATE_DIR, MARKER_ENV, EnvRecord

ROOT = Path(__file__).resolve().parents[3]


def wait_until(condition: Callable[[], object], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def nothing_left(record: EnvRecord) -> bool:
    if any(ref.alive() for ref in record.processes):
        return False
    if record.containers:
        from harness.provision.containers import docker_client

        # the listing's own ids: containers.list() inspects each, and another test may remove one meanwhile
        ids = {c["Id"] for c in docker_client().api.containers(all=True, quiet=True)}
        return not any(cid in ids for cid in record.containers)
    return True


def marked_servers(state_dir: Path) -> list[psutil.Process]:
    """Live server processes that carry an environment marker below `state_dir`."""
    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            marker = proc.environ().get(MARKER_ENV, "")
        except psutil.Error:
            continue
        if marker.startswith(f"{state_dir}/") and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


OWNER = textwrap.dedent("""
    import asyncio, sys
    from harness.config import Settings
    from harness.provision import open_environment
    env = asyncio.run(open_environment(Settings(), purpose=sys.argv[1]))
    print(env.directory, flush=True)
    if sys.argv[2] == "hold":
        sys.stdin.read()
""")


def start_owner(
    settings: Settings, purpose: str, hold: bool, cwd: Path = ROOT, ignore_signals: bool = False
) -> subprocess.Popen[str]:
    """A process of its own that opens an environment (and holds it, or exits leaving it)."""
    env = {**os.environ, **settings.as_environment(), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", OWNER, purpose, "hold" if hold else "exit"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd,
        preexec_fn=ignore_job_control_signals if ignore_signals else None,
    )  # fmt: skip


def opened_directory(owner: subprocess.Popen[str]) -> Path:
    assert owner.stdout is not None
    line = owner.stdout.readline().strip()
    assert line, "the owner exited before opening its environment"
    return Path(line)


def ignore_job_control_signals() -> None:
    """How `nohup … &`, a non-interactive shell's background job or a CI agent starts a process."""
    for sig in (signal.SIGQUIT, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def purge(state_dir: Path) -> None:
    """Everything a test's own state directory still holds, whoever owns it and whatever its
    project: a test that failed midway must not leave servers running (gc would rightly spare a
    live owner's or another project's)."""
    from harness.provision.gc import remove_environment_files
    from harness.provision.registry import ProcessRef, kill_process_group

    for directory in sorted(state_dir.iterdir()) if state_dir.is_dir() else []:
        if directory.is_dir():
            try:
                record: EnvRecord | None = EnvRecord.load(directory)
            except (OSError, ValueError, KeyError, TypeError):
                record = None
            remove_environment_files(directory, record)
    for proc in marked_servers(state_dir):
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(proc.pid) == proc.pid:
                kill_process_group(ProcessRef.of(proc.pid))
    with contextlib.suppress(ProvisionError):
        import docker.errors

        from harness.provision.containers import docker_client, labelled_containers

        for container in labelled_containers(docker_client(), f"{LABEL_STATE_DIR}={state_dir}"):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
    shutil.rmtree(state_dir, ignore_errors=True)


def state_dir_containers(settings: Settings) -> set[str]:
    """The ids of the containers, any state, labelled with `settings`' state directory."""
    from harness.provision.containers import docker_client, labelled_containers

    return {c.id for c in labelled_containers(docker_client(), f"{LABEL_STATE_DIR}={settings.state_dir}")}
