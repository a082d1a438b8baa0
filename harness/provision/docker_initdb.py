"""Initialised data directories for the docker backend, cached per image: a run's postgres container
starts on a copy of one (its entrypoint finds PG_VERSION and skips initialisation) instead of running
initdb, a temporary server and a restart inside the container (2-4 s of a docker start).

An entry is keyed by the image's id, the superuser and PGDATA's path in the container. It is built
once, under a lock, by a container of the image that initialises an empty directory with a fresh
password, answers on TCP (so initialisation is complete) and is stopped cleanly; the entry is
renamed into place whole. The copy keeps owners and modes, so it needs root: as another user the
files (owned by the image's postgres uid, 0700) cannot be read, and the run initialises as before.
The security is the embedded initdb cache's: the entry's password is private to root, and a run
changes it to its own as soon as its server answers, before anyone is handed the endpoints.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

from harness.errors import ProvisionError
from harness.provision.embedded import new_password
from harness.provision.initdb_cache import DATA, PASSWORD, whole
from harness.provision.locking import exclusive
from harness.provision.registry import write_private

LOCK = ".lock"


def cache_root(initdb_cache: Path) -> Path:
    return initdb_cache.with_name(initdb_cache.name + "-docker")


def usable() -> bool:
    """Whether this process can copy an entry with its owners (see the module's docstring)."""
    return os.geteuid() == 0


class DockerInitdbCache:
    """The entry in `root` for `image` (an id or name the engine resolves), superuser `user`, PGDATA
    at `pgdata` in the container."""

    def __init__(self, root: Path, client: Any, image: str, user: str, pgdata: str, labels: dict[str, str]) -> None:
        self.root, self.client, self.user, self.pgdata, self.labels = root, client, user, pgdata, labels
        self.image = client.images.get(image).id
        key = hashlib.sha256("\0".join([self.image, user, pgdata]).encode()).hexdigest()[:16]
        self.entry = root / key

    async def copy_to(self, data: Path, timeout: float) -> str:
        """Fill `data` (an empty directory) with an initialised data directory, building the entry
        first when there is none; the superuser's password in it."""
        if not whole(self.entry):
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            async with exclusive(self.root / LOCK, f"the docker initdb cache {self.root}", timeout):
                if not whole(self.entry):
                    await self._build(timeout)
        result = await asyncio.to_thread(
            subprocess.run, ["cp", "-a", f"{self.entry / DATA}/.", str(data)], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ProvisionError(f"copying the cached data directory {self.entry / DATA}: {result.stderr.strip()}")
        return (self.entry / PASSWORD).read_text().strip()

    async def _build(self, timeout: float) -> None:
        shutil.rmtree(self.entry, ignore_errors=True)  # not whole: a killed build's (we hold the lock)
        staging = self.root / f"{self.entry.name}.build.{os.getpid()}.{secrets.token_hex(4)}"
        staging.mkdir(mode=0o700)
        (staging / DATA).mkdir(mode=0o700)
        password = new_password()
        try:
            container = await asyncio.to_thread(
                self.client.containers.run, self.image, ["postgres", "-c", "fsync=off"], detach=True,
                environment={"POSTGRES_PASSWORD": password, "POSTGRES_USER": self.user, "PGDATA": self.pgdata},
                volumes={str(staging / DATA): {"bind": self.pgdata, "mode": "rw"}}, labels=self.labels,
            )  # fmt: skip
            try:
                from harness.provision.containers import DockerServer  # it imports this module

                server = DockerServer(
                    container, "SIGQUIT", lambda: asyncio.to_thread(_answers_on_tcp, container),
                    f"initialising a data directory in {self.image[:19]}", timeout,
                )  # fmt: skip
                await server.wait_serving()  # on TCP: the entrypoint's temporary server listens on its socket only
                await server.stop(immediate=False)  # SIGINT: a clean shutdown
                if (await asyncio.to_thread(container.wait, timeout=timeout))["StatusCode"] != 0:
                    raise ProvisionError(f"{server.what} did not stop cleanly")
            finally:
                await asyncio.to_thread(container.remove, force=True)
            write_private(staging / PASSWORD, password + "\n")
            staging.rename(self.entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _answers_on_tcp(container: Any) -> bool:
    import docker.errors  # optional extra: docker

    try:
        return bool(container.exec_run(["pg_isready", "-q", "-h", "127.0.0.1"]).exit_code == 0)
    except docker.errors.APIError:  # stopped meanwhile: the next check reads its status
        return False
