"""Provisioning: one interface, four backend names (embedded, docker, external, auto).

`open_environment(settings)` returns a running `Environment` (endpoints + faults) and records it
under `settings.state_dir` so that `harness gc` can always clean up after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ProvisionError
from harness.provision.endpoints import Endpoints, redact
from harness.provision.environment import Environment
from harness.provision.faults import Faults, PostgresFaults, RedisFaults
from harness.provision.locking import exclusive
from harness.provision.registry import RECORD, EnvRecord, current_process

if TYPE_CHECKING:
    from harness.config import Settings  # an xdist worker imports this package without the settings model

__all__ = [
    "Endpoints",
    "Environment",
    "Faults",
    "PostgresFaults",
    "RedisFaults",
    "choose_backend",
    "environment_lock",
    "find_environment",
    "open_environment",
    "redact",
]  # fmt: skip

log = logging.getLogger("harness.provision")


def choose_backend(settings: Settings) -> tuple[str, str]:
    """The concrete backend for `settings.backend`, and why."""
    if settings.backend != "auto":
        return settings.backend, f"--backend {settings.backend}"
    from harness.provision.containers import docker_client, image_available  # start-up: redis (the backends)

    try:
        client = docker_client()
    except ProvisionError as exc:
        return "embedded", f"auto: {exc}"
    for image in (settings.pg_image, settings.redis_image):
        ok, why = image_available(client, image)
        if not ok:
            return "embedded", f"auto: the docker engine answers but {why}"
    return "docker", "auto: the docker engine answers and both images are available"


def _stable_key(settings: Settings, purpose: str) -> str | None:
    """For reused and `up` environments (which later commands find again): their tag and the
    hash of project and images; None for a run's own environment."""
    if purpose != "up" and not settings.reuse:
        return None
    key = f"{settings.project_root}|{settings.pg_image}|{settings.redis_image}"
    return f"{'up' if purpose == 'up' else 'reuse'}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def environment_id(settings: Settings, backend: str, purpose: str) -> str:
    """Stable for reused and `up` environments (so later runs find them), unique otherwise."""
    key = _stable_key(settings, purpose)
    if key is None:
        return f"{backend}-{secrets.token_hex(4)}"
    tag, _, digest = key.partition("-")
    return f"{tag}-{backend}-{digest}"


def environment_lock(settings: Settings, purpose: str = "run") -> contextlib.AbstractAsyncContextManager[None]:
    """Held while a reused or `up` environment is found or started and made ready, so a second
    command waits for the first and then attaches to what it made; a no-op for a run's own."""
    key = _stable_key(settings, purpose)
    if key is None:
        return contextlib.nullcontext()
    prepare_state_dir(settings.state_dir)
    what = f"the {key.partition('-')[0]} environment of {settings.project_root}"
    return exclusive(settings.state_dir / f"{key}.lock", what, settings.hang_timeout)


def prepare_state_dir(state_dir: Path) -> None:
    """Private to this user; as root also enterable (not listable) by the demoted servers."""
    state_dir.mkdir(parents=True, exist_ok=True)
    if state_dir.stat().st_uid == os.geteuid():
        state_dir.chmod(0o711 if os.geteuid() == 0 else 0o700)


async def open_environment(
    settings: Settings, purpose: str = "run", persistent: bool | None = None, template_key: str = ""
) -> Environment:
    """Start (or, when reused, find) the servers for `settings`; `template_key` (the recipe's
    contents) lets the embedded and docker backends start from a snapshot with the template built."""
    backend, reason = choose_backend(settings)
    log.info("backend %s (%s)", backend, reason)
    if persistent is None:
        persistent = settings.reuse or settings.keep
    env_id = environment_id(settings, backend, purpose)
    directory = settings.state_dir / env_id
    if (directory / RECORD).exists():
        found = find_environment(settings, directory)
        if found is not None:
            log.info("reusing %s", env_id)
            return found
    prepare_state_dir(settings.state_dir)
    directory.mkdir(mode=0o700)
    record = EnvRecord(
        env_id=env_id, backend=backend, owner=current_process(), persistent=persistent,
        project=str(settings.project_root),
    )  # fmt: skip
    record.save(directory)
    return await _start(backend, directory, record, settings, template_key)


async def _start(
    backend: str, directory: Path, record: EnvRecord, settings: Settings, template_key: str = ""
) -> Environment:
    from harness.provision.gc import remove_environment_files  # start-up: redis (the backends)

    try:
        if backend == "embedded":
            from harness.provision.embedded import EmbeddedEnvironment  # start-up: redis (the backends)

            return await EmbeddedEnvironment.start(directory, record, settings, template_key)
        if backend == "docker":
            from harness.provision.containers import DockerEnvironment  # start-up: redis (the backends)

            return await DockerEnvironment.start(directory, record, settings, template_key)
        from harness.provision.external import ExternalEnvironment  # start-up: redis (the backends)

        return await ExternalEnvironment.start(directory, record, settings)
    except BaseException:
        remove_environment_files(directory, record if record.containers or record.processes else None)
        raise


def find_environment(settings: Settings, directory: Path) -> Environment | None:
    """A recorded environment that still runs, or None (and its remains are removed)."""
    from harness.provision.gc import remove_environment_files  # start-up: redis (the backends)

    record = EnvRecord.load(directory)
    env: Environment
    try:
        if record.backend == "embedded":
            from harness.provision.embedded import EmbeddedEnvironment  # start-up: redis (the backends)

            env = EmbeddedEnvironment.attach(directory, record, settings)
        elif record.backend == "docker":
            from harness.provision.containers import DockerEnvironment  # start-up: redis (the backends)

            env = DockerEnvironment.attach(directory, record, settings)
        else:
            return None
        if env.alive():
            return env
    except Exception as exc:  # a half-gone environment: whatever failed, it is not usable
        log.info("recorded environment %s is unusable: %s", directory.name, exc)
    remove_environment_files(directory, record)
    return None
