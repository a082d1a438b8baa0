"""Template snapshots for the docker backend: a run whose recipe was built before on the same image
starts its postgres container on a copy of a data directory with the template already built,
instead of on the docker initdb cache's (and building the template: migrations and seed).

The entries are the embedded backend's (harness.provision.snapshot_cache: copied, never shared;
saved once per recipe, right after the build, from a cleanly stopped server), kept beside the
docker initdb cache (`-templates`) and keyed by its entry (image id, superuser, PGDATA) and the
recipe's contents key. Like that cache they need root (the files keep the image's postgres uid).
Security is the same: the entry keeps a fresh password of its own, private to root, and a run
changes it to its own as soon as its server answers, before anyone gets the endpoints.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from harness.errors import ProvisionError
from harness.provision.docker_initdb import DockerInitdbCache
from harness.provision.embedded import new_password
from harness.provision.endpoints import with_credentials
from harness.provision.initdb_cache import change_password
from harness.provision.snapshot_cache import SnapshotCache, snapshot_root

log = logging.getLogger("harness.provision")
REDO_LINE = "Latest checkpoint's REDO WAL file:"


def snapshot_cache(initdb: DockerInitdbCache, recipe_key: str, keep: int) -> SnapshotCache:
    """The snapshot entry of `initdb`'s image, superuser and PGDATA for the recipe `recipe_key`."""
    return SnapshotCache(snapshot_root(initdb.root), initdb.entry.name, recipe_key, keep, 0, 0)  # root's, as the copy


def redo_segment(client: Any, image: str, data: Path, pgdata: str, labels: dict[str, str]) -> str:
    """The WAL segment the cleanly stopped server of `data` starts from, read by pg_controldata in a
    one-off container of its `image` (the host's may be another version, or absent), labelled
    `labels` for `harness gc`."""
    import docker.errors  # optional extra: docker

    try:
        output = client.containers.run(
            image, ["pg_controldata", "-D", pgdata], entrypoint=[], environment={"LC_ALL": "C"},
            volumes={str(data): {"bind": pgdata, "mode": "ro"}}, labels=labels, remove=True,
        )  # fmt: skip
    except docker.errors.DockerException as exc:
        raise ProvisionError(f"pg_controldata in {image[:19]} on {data}: {exc}") from exc
    for line in output.decode(errors="replace").splitlines():
        if line.startswith(REDO_LINE):
            return str(line.partition(":")[2].strip())
    raise ProvisionError(f"pg_controldata names no checkpoint in {data}")


class DockerSnapshots:
    """Saving a snapshot of one run's postgres container (`server`, a DockerServer over it, whose
    superuser `user` has the password in `dsn`) with its data bind-mounted from `data`."""

    def __init__(
        self, cache: SnapshotCache, client: Any, image: str, pgdata: str, labels: dict[str, str], min_build: float
    ) -> None:
        self.cache, self.client, self.image, self.pgdata = cache, client, image, pgdata
        self.labels, self.min_build = labels, min_build
        self.saved = False

    async def save(self, server: Any, data: Path, dsn: str, user: str, templates: list[str], built: float) -> bool:
        """Save `data` with `templates` built (in `built` seconds) unless another run saved it or the
        build was quicker than the stop and start this costs: the superuser gets a fresh password
        for the entry, the container stops cleanly and starts again (on its own host port) with the
        run's password back. Whether it was saved."""
        if self.saved or built < self.min_build or self.cache.saved():
            return False
        cache_password = new_password()
        await change_password(dsn, user, cache_password, server.timeout, checkpoint=True)
        await server.stop(immediate=False)
        try:
            if (await asyncio.to_thread(server.container.wait, timeout=server.timeout))["StatusCode"] != 0:
                raise ProvisionError(f"{server.what} did not stop cleanly")
            segment = await asyncio.to_thread(redo_segment, self.client, self.image, data, self.pgdata, self.labels)
            await self.cache.save(data, cache_password, templates, segment, server.timeout)
            self.saved = True
        except (OSError, ProvisionError) as exc:  # a cache that cannot be written costs the next run time, no more
            log.warning("the template snapshot was not saved: %s", exc)
        finally:
            from harness.provision.containers import hand_over  # it imports this module

            await asyncio.to_thread(server.container.start)
            await hand_over(server, with_credentials(dsn, user, cache_password), dsn)
        return self.saved
