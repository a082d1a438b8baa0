"""Initialised data directories, cached: a run copies one (tens of ms on tmpfs) instead of running
initdb (about half a second).

An entry is keyed by everything that shapes what initdb writes: the server binaries (their path,
size and mtime), initdb's arguments, the superuser and the uid the server runs as. It is built
under a temporary name and renamed, so runs that start at once each find a whole entry or build
their own; one without its control file or password is rebuilt. Each entry keeps the password its
superuser was made with, private to the server's user in the invoking user's cache directory
(0700; 0711 as root, so the demoted server can reach its entries but nobody can list them). A run
changes it to the run's own password as soon as its server answers, before anyone is handed the
endpoints: no one without the cache's password (the invoking user, the server's user) gets in.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import asyncpg

from harness.errors import ProvisionError
from harness.provision.registry import write_private

PASSWORD = "password"
DATA = "data"


def initdb_argv(bin_dir: Path, data: Path, superuser: str, password_file: Path) -> list[str]:
    """initdb: a password (scram) for every login, over TCP and the unix socket alike."""
    return [str(bin_dir / "initdb"), "-D", str(data), "-U", superuser, "--pwfile", str(password_file),
            "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"]  # fmt: skip


def run_initdb(argv: list[str], data: Path, prepare_child: Callable[[], None]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, preexec_fn=prepare_child)
    if result.returncode != 0:
        raise ProvisionError(f"initdb failed in {data}: {result.stderr.strip()}")


def whole(entry: Path) -> bool:
    """Whether the cache entry at `entry` holds an initialised data directory and its password."""
    return (entry / DATA / "global" / "pg_control").is_file() and (entry / PASSWORD).is_file()


def entry_key(bin_dir: Path, superuser: str, server_uid: int) -> str:
    postgres = (bin_dir / "postgres").stat()
    argv = initdb_argv(bin_dir, Path(DATA), superuser, Path(PASSWORD))
    facts = [str(bin_dir.resolve()), str(postgres.st_size), str(postgres.st_mtime_ns), *argv[1:], str(server_uid)]
    return hashlib.sha256("\0".join(facts).encode()).hexdigest()[:16]


class InitdbCache:
    """The cache in `root` for one server: binaries in `bin_dir`, run as `server_uid`:`server_gid`."""

    def __init__(
        self,
        root: Path,
        bin_dir: Path,
        superuser: str,
        server_uid: int,
        server_gid: int,
        prepare_child: Callable[[], None],
    ) -> None:
        self.root = root
        self.bin_dir = bin_dir
        self.superuser = superuser
        self.uid, self.gid = server_uid, server_gid
        self.prepare_child = prepare_child
        self.entry = root / entry_key(bin_dir, superuser, server_uid)

    def copy_to(self, data: Path) -> str:
        """Copy an initialised data directory to `data` (building the entry when it is missing or
        damaged); the superuser's password in the copy."""
        if not whole(self.entry):
            self._build()
        result = subprocess.run(
            ["cp", "-a", "--reflink=auto", str(self.entry / DATA), str(data)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ProvisionError(
                f"copying the cached data directory {self.entry / DATA} failed: {result.stderr.strip()}"
            )
        return (self.entry / PASSWORD).read_text().strip()

    def _build(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.root.stat().st_uid == os.geteuid():
            self.root.chmod(0o711 if os.geteuid() == 0 else 0o700)
        staging = self._unique("build")
        staging.mkdir(mode=0o700)
        try:
            password_file = staging / PASSWORD
            write_private(password_file, secrets.token_hex(12) + "\n")
            (staging / DATA).mkdir(mode=0o700)
            for path in (staging, password_file, staging / DATA):
                os.chown(path, self.uid, self.gid)
            run_initdb(
                initdb_argv(self.bin_dir, staging / DATA, self.superuser, password_file), staging, self.prepare_child
            )
            self._install(staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _install(self, staging: Path) -> None:
        """Rename `staging` into place; a whole entry another run installed meanwhile is as good,
        a damaged one is renamed aside (never deleted in place: another run may be copying it)."""
        for _ in range(2):
            try:
                staging.rename(self.entry)
                return
            except OSError:
                if whole(self.entry):
                    return
                aside = self._unique("damaged")
                with contextlib.suppress(FileNotFoundError):
                    self.entry.rename(aside)
                shutil.rmtree(aside, ignore_errors=True)
        raise ProvisionError(f"could not install a cached data directory at {self.entry}")

    def _unique(self, why: str) -> Path:
        return self.root / f"{self.entry.name}.{why}.{os.getpid()}.{secrets.token_hex(4)}"


async def change_password(dsn: str, user: str, password: str, timeout: float, checkpoint: bool = False) -> None:
    """Give `user` the run's own `password`, logged in with the cache's (`dsn`). `checkpoint`: one
    first, while the server runs (before a clean stop for a snapshot: a shorter stop)."""
    conn = await asyncpg.connect(dsn, timeout=timeout)
    try:
        if checkpoint:
            await conn.execute("CHECKPOINT")
        statement = await conn.fetchval(
            "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", user, password
        )
        await conn.execute(statement)
    finally:
        await conn.close()
