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
from harness.provision.locking import exclusive
from harness.provision.registry import write_private

PASSWORD = "password"
DATA = "data"
LOCK = ".lock"
POLL_SECONDS = 0.05


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
        if not self._whole():
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            async with exclusive(self.root / LOCK, f"the docker initdb cache {self.root}", timeout):
                if not self._whole():
                    await self._build(timeout)
        result = await asyncio.to_thread(
            subprocess.run, ["cp", "-a", f"{self.entry / DATA}/.", str(data)], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ProvisionError(f"copying the cached data directory {self.entry / DATA}: {result.stderr.strip()}")
        return (self.entry / PASSWORD).read_text().strip()

    def _whole(self) -> bool:
        return (self.entry / DATA / "global" / "pg_control").is_file() and (self.entry / PASSWORD).is_file()

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
                await self._wait_initialised(container, timeout)
                await asyncio.to_thread(container.stop, timeout=int(timeout))  # SIGINT: a clean shutdown
                if (await asyncio.to_thread(container.wait, timeout=timeout))["StatusCode"] != 0:
                    raise ProvisionError(f"initialising a data directory in {self.image[:19]} did not stop cleanly")
            finally:
                await asyncio.to_thread(container.remove, force=True)
            write_private(staging / PASSWORD, password + "\n")
            staging.rename(self.entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    async def _wait_initialised(self, container: Any, timeout: float) -> None:
        """Until the server answers on TCP: the entrypoint's temporary server listens on its socket only."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                ready = await asyncio.to_thread(container.exec_run, ["pg_isready", "-q", "-h", "127.0.0.1"])
                if ready.exit_code == 0:
                    return
            except Exception:  # the SDK's APIError: the container stopped; its status says why
                pass
            await asyncio.to_thread(container.reload)
            if container.status in ("exited", "dead") or asyncio.get_running_loop().time() > deadline:
                logs = container.logs(tail=40).decode(errors="replace")
                raise ProvisionError(f"initialising a data directory in {self.image[:19]} failed; log:\n{logs}")
            await asyncio.sleep(POLL_SECONDS)
