"""The docker backend: containers of configurable images, made with the docker SDK.

The SDK directly, not testcontainers: its import cost a docker start as much CPU as the SDK's own,
and a start needs what it does not offer, a container created while postgres's data directory is
still being copied and started afterwards. Containers carry the environment's id and owner in
labels, so `harness gc` removes what a killed run left (no reaper container: no image can be pulled
on our machines). Host
ports are fixed at creation so a restarted container answers where it did before: docker's own
choice (host port 0) is made anew at every start, so a fault's restart would move the server. A
port `free_port` chose can be taken before docker binds it (another run's server); docker then
refuses to start the container, which is made again on another port (`start_published`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.config import Settings
from harness.errors import ProvisionError
from harness.extras import missing_extra
from harness.provision import docker_initdb
from harness.provision.docker_snapshots import DockerSnapshots, snapshot_cache
from harness.provision.embedded import PORT_ATTEMPTS, free_port, new_password
from harness.provision.endpoints import Endpoints
from harness.provision.environment import Environment
from harness.provision.faults import Faults
from harness.provision.initdb_cache import change_password
from harness.provision.insight_settings import insight_settings
from harness.provision.redis_access import admin_credentials, redis_url
from harness.provision.registry import (
    LABEL_ENV,
    LABEL_OWNER,
    LABEL_PERSISTENT,
    LABEL_PROJECT,
    LABEL_STATE_DIR,
    EnvRecord,
    ProcessRef,
    why_kept,
)
from harness.provision.waiting import postgres_answers, redis_answers, wait_for

log = logging.getLogger("harness.provision")
LOOPBACK = "127.0.0.1"
PG_USER = "postgres"
PG_DATA = "/var/lib/postgresql/data"
IMAGE_PG_OS_USER = "postgres"  # the images' own account, which owns PGDATA
REDIS_CONFIG_IN_CONTAINER = "/usr/local/etc/redis/redis.conf"
REDIS_ACL_IN_CONTAINER = "/usr/local/etc/redis/users.acl"  # where redis.conf's aclfile points
PG_TUNING = ["-c", "fsync=off", "-c", "full_page_writes=off"]
# how the engine refuses a published port another holds: its own allocator, or docker-proxy's bind
PORT_TAKEN = ("port is already allocated", "address already in use")


def docker_client() -> Any:
    """A docker SDK client, or ProvisionError saying why the engine cannot be used."""
    try:
        import docker  # optional extra: docker
    except ImportError as exc:
        raise missing_extra("docker", "the docker backend", "docker") from exc
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:  # the SDK raises several unrelated types for "no engine"
        raise ProvisionError(f"the docker engine does not answer: {exc}") from exc
    return client


class DockerServer:
    """ServerControl over one container. `timeout` (the settings' hang_timeout) bounds each wait:
    for the server to answer, for a stop, for the container to exit."""

    def __init__(self, container: Any, immediate_signal: str, answers: Any, what: str, timeout: float) -> None:
        self.container = container  # docker SDK Container
        self.immediate_signal = immediate_signal
        self.answers = answers
        self.what = what
        self.timeout = timeout

    async def stop(self, immediate: bool) -> None:
        await asyncio.to_thread(unpaused, self.container)
        if immediate:
            await asyncio.to_thread(self.container.kill, self.immediate_signal)
            await asyncio.to_thread(self.container.wait, timeout=self.timeout)
        else:
            await asyncio.to_thread(self.container.stop, timeout=math.ceil(self.timeout))  # whole seconds

    async def start(self) -> None:
        await asyncio.to_thread(self.container.start)
        await self.wait_serving()

    async def wait_serving(self) -> None:
        async def check() -> bool:
            await asyncio.to_thread(self.container.reload)
            if self.container.status in ("exited", "dead"):
                logs = self.container.logs(tail=40).decode(errors="replace")
                raise ProvisionError(f"{self.what} exited while starting; its log ends:\n{logs}")
            return bool(await self.answers())

        await wait_for(check, self.what, self.timeout)

    async def pause(self) -> None:
        await asyncio.to_thread(self.container.pause)

    async def unpause(self) -> None:
        await asyncio.to_thread(self.container.unpause)


def _engine_is_local() -> bool:
    docker_host = os.environ.get("DOCKER_HOST", "")
    return not docker_host or docker_host.startswith("unix://")


def _publish_address() -> str:
    """The host address ports are published on: loopback for a local engine, so no other machine
    reaches the servers (docker's own default is every interface); a remote engine's clients are
    on other machines, so there every interface of the engine's host."""
    return LOOPBACK if _engine_is_local() else "0.0.0.0"


def published_host() -> str:
    """Where published ports answer: loopback for a local engine, else the engine's host."""
    return LOOPBACK if _engine_is_local() else urlsplit(os.environ["DOCKER_HOST"]).hostname or LOOPBACK


def container_labels(record: EnvRecord, directory: Path) -> dict[str, str]:
    """The labels every container of the environment in `directory` carries, for `harness gc`."""
    return {
        LABEL_ENV: record.env_id,
        LABEL_STATE_DIR: str(directory.parent),
        LABEL_OWNER: record.owner.label(),
        LABEL_PERSISTENT: str(record.persistent).lower(),
        LABEL_PROJECT: record.project,
    }


@dataclass
class ContainerSpec:
    """A container to make (the docker SDK's arguments): `port` published on `host_port`, fixed at
    creation (see `_publish_address`; `start_published` moves it when docker finds it taken)."""

    image: str
    port: int
    labels: dict[str, str]
    stop_signal: str
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, dict[str, str]] = field(default_factory=dict)
    entrypoint: list[str] | None = None  # None: the image's
    user: str | None = None  # None: the image's
    host_port: int = field(default_factory=lambda: free_port())  # looked up when made: tests replace it

    def create(self, client: Any) -> Any:
        """The container, created, not started."""
        return client.containers.create(
            self.image, self.command, entrypoint=self.entrypoint, user=self.user, environment=self.environment,
            volumes=self.volumes, labels=self.labels, stop_signal=self.stop_signal, shm_size="256m",
            ports={f"{self.port}/tcp": (_publish_address(), self.host_port)},
        )  # fmt: skip


def bind(source: Path, target: str, mode: str = "rw") -> dict[str, dict[str, str]]:
    return {str(source): {"bind": target, "mode": mode}}


def start_published(client: Any, spec: ContainerSpec, created: Any | None = None) -> Any:
    """Start `created` (made from `spec`) or a new container of `spec`; when docker finds its host
    port taken, remove it and make it again on another port, PORT_ATTEMPTS in all (`spec.host_port`
    says which)."""
    import docker.errors  # optional extra: docker

    container = created
    for _ in range(PORT_ATTEMPTS):
        container = container or spec.create(client)
        try:
            container.start()
            return container
        except docker.errors.APIError as exc:
            remove_containers([container.id])
            container = None
            if not any(reason in str(exc) for reason in PORT_TAKEN):
                raise
            taken, failure = spec.host_port, exc
            spec.host_port = free_port()
    raise ProvisionError(
        f"host port {taken} was taken before docker bound it, {PORT_ATTEMPTS} ports in a row: {failure}"
    )


class DockerEnvironment(Environment):
    def __init__(
        self,
        directory: Path,
        record: EnvRecord,
        endpoints: Endpoints,
        postgres: DockerServer,
        redis: DockerServer,
        snapshots: DockerSnapshots | None = None,
        from_snapshot: bool = False,
    ) -> None:
        super().__init__(endpoints, Faults(endpoints, postgres, redis), directory, record)
        self.postgres = postgres
        self.redis = redis
        self.snapshots = snapshots  # when this run may save its template's snapshot
        self._from_snapshot = from_snapshot

    @classmethod
    async def start(
        cls, directory: Path, record: EnvRecord, settings: Settings, template_key: str = ""
    ) -> DockerEnvironment:
        """Redis's container starts at once; postgres's once its data directory is filled (a template
        snapshot of `template_key`'s recipe, else the docker initdb cache's, else left to the image's
        entrypoint); then both must answer."""
        client = docker_client()
        for image in (settings.pg_image, settings.redis_image):
            _ensure_image(client, image)
        password = new_password()
        labels = container_labels(record, directory)
        data = directory / "pgdata"
        pg = _postgres_spec(settings, labels, password, data)
        redis = _redis_spec(settings, labels)

        async def launch(spec: ContainerSpec, created: Any | None = None) -> Any:
            container = await asyncio.to_thread(start_published, client, spec, created)
            record.containers.append(container.id)  # as soon as it runs, for gc (labels cover the rest)
            record.save(directory)
            return container

        async def launch_postgres() -> tuple[Any, _Filled]:
            """Created while its data directory is filled (the bind's source must exist at start only)."""
            created: Any
            filled: _Filled | BaseException
            created, filled = await asyncio.gather(
                asyncio.to_thread(pg.create, client), _fill_data(client, settings, labels, data, template_key),
                return_exceptions=True,
            )  # fmt: skip
            if isinstance(filled, BaseException):
                if not isinstance(created, BaseException):
                    await asyncio.to_thread(remove_containers, [created.id])
                raise filled
            return await launch(pg, None if isinstance(created, BaseException) else created), filled

        try:
            # both at once; each is recorded as it starts, and removed below if the other fails
            launched = await asyncio.gather(launch_postgres(), launch(redis), return_exceptions=True)
            for outcome in launched:
                if isinstance(outcome, BaseException):
                    raise outcome
            (pg_container, filled), redis_container = launched
            record.containers = [pg_container.id, redis_container.id]  # the order attach reads
            record.save(directory)
            host = published_host()
            pg_port, redis_port = pg.host_port, redis.host_port
            endpoints = Endpoints(
                postgres=f"postgresql://{PG_USER}:{password}@{host}:{pg_port}/postgres",
                redis=redis_url(host, redis_port, admin_credentials(settings)),
                backend="docker",
            )
            pg_server = DockerServer(
                pg_container,
                "SIGQUIT",
                lambda: postgres_answers(endpoints.postgres),
                f"postgres container on port {pg_port}",
                settings.hang_timeout,
            )
            redis_server = DockerServer(
                redis_container,
                "SIGKILL",
                lambda: redis_answers(endpoints.redis),
                f"redis container on port {redis_port}",
                settings.hang_timeout,
            )
            if filled.password is None:  # the entrypoint initialised it with the run's password
                postgres_ready = pg_server.wait_serving()
            else:  # the copy's superuser has the cache's password until now
                cached = f"postgresql://{PG_USER}:{filled.password}@{host}:{pg_port}/postgres"
                postgres_ready = hand_over(pg_server, cached, endpoints.postgres)
            await asyncio.gather(postgres_ready, redis_server.wait_serving())
        except BaseException:
            remove_containers(record.containers)
            raise
        record.endpoints = endpoints.to_json()
        record.save(directory)
        return cls(directory, record, endpoints, pg_server, redis_server, filled.snapshots, filled.from_snapshot)

    @classmethod
    def attach(cls, directory: Path, record: EnvRecord, settings: Settings) -> DockerEnvironment:
        client = docker_client()
        endpoints = Endpoints.from_json(record.endpoints or "{}")
        pg, redis = (client.containers.get(cid) for cid in record.containers[:2])  # a replica's comes after
        timeout = settings.hang_timeout
        return cls(
            directory, record, endpoints,
            DockerServer(pg, "SIGQUIT", lambda: postgres_answers(endpoints.postgres), "postgres container", timeout),
            DockerServer(redis, "SIGKILL", lambda: redis_answers(endpoints.redis), "redis container", timeout),
        )  # fmt: skip

    def alive(self) -> bool:
        for server in (self.postgres, self.redis):
            server.container.reload()
            if server.container.status != "running":
                return False
        return True

    @property
    def from_snapshot(self) -> bool:
        return self._from_snapshot

    async def save_snapshot(self, templates: list[str], build_seconds: float) -> bool:
        if self.snapshots is None or self._from_snapshot:
            return False
        return await self.snapshots.save(
            self.postgres, self.directory / "pgdata", self.endpoints.postgres, PG_USER, templates, build_seconds
        )

    async def stop_servers(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(remove_containers, [cid]) for cid in self.record.containers))


async def hand_over(server: DockerServer, cached: str, dsn: str) -> None:
    """Wait for `server`'s postgres to answer as `cached` (its superuser with a cache's password),
    then give the superuser `dsn`'s password (the run's own)."""
    as_cached = DockerServer(
        server.container, server.immediate_signal, lambda: postgres_answers(cached), server.what, server.timeout
    )
    await as_cached.wait_serving()
    url = urlsplit(dsn)
    await change_password(cached, url.username or PG_USER, url.password or "", server.timeout)


def _postgres_spec(settings: Settings, labels: dict[str, str], password: str, data: Path) -> ContainerSpec:
    """postgres on `data`; when the caches fill it (`_caches_fill`), run at once as the image's
    postgres user: a copied data directory needs nothing of the image's entrypoint, a bash script
    that finds it initialised, walks it to chown what is not postgres's and re-executes itself as
    postgres (about 0.1 s of a start)."""
    command = [
        "postgres",
        *PG_TUNING,
        *("-c", f"max_connections={settings.pg_max_connections}"),
        *("-c", f"synchronous_commit={'on' if settings.durable_commits else 'off'}"),
        *(arg for k, v in insight_settings(settings.insight_explain_ms).items() for arg in ("-c", f"{k}={v}")),
    ]
    skip = _caches_fill(settings)
    return ContainerSpec(
        settings.pg_image, 5432, labels, "SIGINT", command[1:] if skip else command,
        # the public pg18 images default PGDATA elsewhere; one path for all
        environment={"POSTGRES_PASSWORD": password, "POSTGRES_USER": PG_USER, "PGDATA": PG_DATA},
        volumes=bind(data, PG_DATA), entrypoint=command[:1] if skip else None, user=IMAGE_PG_OS_USER if skip else None,
    )  # fmt: skip


def _redis_spec(settings: Settings, labels: dict[str, str]) -> ContainerSpec:
    command, volumes = ["redis-server"], dict[str, dict[str, str]]()
    if settings.redis_config.is_file():
        volumes |= bind(settings.redis_config.resolve(), REDIS_CONFIG_IN_CONTAINER, "ro")
        command.append(REDIS_CONFIG_IN_CONTAINER)
    if settings.redis_acl.is_file():
        volumes |= bind(settings.redis_acl.resolve(), REDIS_ACL_IN_CONTAINER, "ro")
        command += ["--aclfile", REDIS_ACL_IN_CONTAINER]
    # Protected mode refuses every client from outside the container (docker's port proxy is one)
    # while `default` needs no password; the shipped ACL disables `default`, so it stays on. With
    # no ACL file only the loopback publishing keeps other machines out.
    protected = "yes" if settings.redis_acl.is_file() else "no"
    command += ["--bind", "0.0.0.0", "--protected-mode", protected, "--port", "6379"]
    return ContainerSpec(settings.redis_image, 6379, labels, "SIGTERM", command, volumes=volumes)


@dataclass(frozen=True)
class _Filled:
    """How a run's data directory was filled: the password its superuser has (None: the image's
    entrypoint initialises it with the run's), whether from a template snapshot, and the snapshots
    the run may save its template in."""

    password: str | None = None
    from_snapshot: bool = False
    snapshots: DockerSnapshots | None = None


def _caches_fill(settings: Settings) -> bool:
    """Whether a run's data directory comes from the caches (see `_fill_data`)."""
    return settings.initdb_cache is not None and docker_initdb.usable() and _engine_is_local()


async def _fill_data(client: Any, settings: Settings, labels: dict[str, str], data: Path, template_key: str) -> _Filled:
    """`data` (PGDATA, bind-mounted from the state directory so that it survives a container
    restart) made and filled from a template snapshot of `template_key`'s recipe or the docker
    initdb cache; left empty for the entrypoint to initialise when the cache is off or cannot
    serve here (another user than root, a remote engine)."""
    if not _caches_fill(settings) or settings.initdb_cache is None:
        data.mkdir(mode=0o700)
        return _Filled()
    initdb = docker_initdb.DockerInitdbCache(
        docker_initdb.cache_root(settings.initdb_cache), client, settings.pg_image, PG_USER, PG_DATA, labels
    )
    snapshots = None
    if settings.template_snapshots and template_key:
        cache = snapshot_cache(initdb, template_key, settings.template_snapshots_keep)
        password = await asyncio.to_thread(cache.copy_to, data)
        if password is not None:
            return _Filled(password, from_snapshot=True)
        snapshots = DockerSnapshots(cache, client, initdb.image, PG_DATA, labels, settings.template_snapshot_min_build)
    data.mkdir(mode=0o700)
    return _Filled(await initdb.copy_to(data, settings.hang_timeout), snapshots=snapshots)


def _ensure_image(client: Any, image: str) -> None:
    import docker.errors  # optional extra: docker

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        try:
            client.images.pull(image)
        except docker.errors.APIError as exc:
            raise ProvisionError(
                f"image {image} is not present and cannot be pulled ({exc.explanation}); "
                "build local images with `harness images build` and pass their names"
            ) from exc


def image_available(client: Any, image: str) -> tuple[bool, str]:
    """Whether `image` is present locally or its registry answers for it (without pulling it)."""
    import docker.errors  # optional extra: docker

    try:
        client.images.get(image)
        return True, f"image {image} is present"
    except docker.errors.ImageNotFound:
        pass
    try:
        client.api.inspect_distribution(image)
        return True, f"image {image} can be pulled"
    except Exception as exc:  # registry errors come as APIError, timeouts as requests' types
        return False, f"image {image} is neither present nor pullable ({type(exc).__name__})"


def labelled_containers(client: Any, label: str) -> list[Any]:
    """The containers carrying `label`. docker-py lists, then inspects each: one removed between
    the two (by its owner's close) fails the listing, so it is listed again."""
    import docker.errors  # optional extra: docker

    for _ in range(4):
        with contextlib.suppress(docker.errors.NotFound):
            return list(client.containers.list(all=True, filters={"label": label}))
    return list(client.containers.list(all=True, filters={"label": label}))


def unpaused(container: Any) -> Any:
    """`container`, unpaused if a fault paused it: a paused (cgroup-frozen) container's processes
    act on no stop signal, and it cannot exec the chown that hands its data back."""
    container.reload()
    if container.status == "paused":
        container.unpause()
    return container


def remove_containers(container_ids: list[str]) -> None:
    import docker.errors  # optional extra: docker

    client = docker_client()
    for cid in container_ids:
        with contextlib.suppress(docker.errors.NotFound):
            container = unpaused(client.containers.get(cid))
            _hand_back_data(client, container)
            container.remove(force=True, v=True)


def _hand_back_data(client: Any, container: Any) -> None:
    """Give the invoking user back the data the container's postgres wrote to the bind-mounted
    PGDATA (owned by the image's uid, in 0700 directories), so that it can be deleted with the
    environment's directory: as root nothing is needed, else a chown from inside the container
    (or, when it no longer runs, from a one-off container of its image)."""
    if os.geteuid() == 0 or not any(m.get("Destination") == PG_DATA for m in container.attrs.get("Mounts", [])):
        return
    command = ["chown", "-R", f"{os.geteuid()}:{os.getegid()}", PG_DATA]
    container.reload()
    if container.status == "running":
        exit_code, output = container.exec_run(command, user="root")
    else:
        volumes = {m["Source"]: {"bind": m["Destination"], "mode": "rw"} for m in container.attrs["Mounts"]}
        try:
            client.containers.run(container.image.id, command, user="root", volumes=volumes, remove=True)
            exit_code, output = 0, b""
        except Exception as exc:  # the SDK's ContainerError, ImageNotFound, APIError: all mean the same here
            exit_code, output = 1, str(exc).encode()
    if exit_code != 0:  # the containers must still go: say what stays behind
        log.warning(
            "could not hand back %s of container %s to uid %d, so its data stays in the state directory: %s",
            PG_DATA, container.name, os.geteuid(), output.decode(errors="replace").strip(),
        )  # fmt: skip


def collect_orphan_containers(state_dir: Path, project: str, everything: bool) -> tuple[list[str], list[str]]:
    """Containers of `state_dir` whose environment directory is gone, by `why_kept`'s rule:
    (removed, left alone with the reason)."""
    try:
        client = docker_client()
    except ProvisionError:
        return [], []
    import docker.errors  # optional extra: docker

    removed, kept = [], []
    for container in labelled_containers(client, f"{LABEL_STATE_DIR}={state_dir}"):
        labels = container.labels
        if (state_dir / labels.get(LABEL_ENV, "")).is_dir():
            continue  # its environment's record decides
        owner = ProcessRef.parse(labels.get(LABEL_OWNER, "0@0"))
        persistent = labels.get(LABEL_PERSISTENT) == "true"
        reason = why_kept(owner, persistent, labels.get(LABEL_PROJECT, ""), project, everything)
        what = f"container {container.name} ({labels.get(LABEL_ENV)})"
        if reason is None:
            with contextlib.suppress(docker.errors.NotFound):  # its owner removed it meanwhile
                unpaused(container).remove(force=True, v=True)
            removed.append(what)
        else:
            kept.append(f"{what}: {reason}")
    return removed, kept
