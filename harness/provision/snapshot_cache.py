"""Data directories with the template database already built, cached: a run whose recipe was built
before starts its server on a copy of one instead of running initdb and building the template
(migrations and seed: about a second for `minimal`, minutes for `load`).

An entry is keyed by the initdb cache's key (server binaries, initdb's arguments, superuser, server
uid) and the recipe's contents key (migrations, seed profile and generator), so a changed recipe
never finds another's entry. It is saved by the run that built the template, right after the build
(before any clone exists): the server is stopped cleanly (a shutdown checkpoint), the data directory
is copied under a temporary name, and the copy renamed into place under a lock; the newest
`keep` entries stay, older ones are removed.

Everything is copied, the template databases included: no file of an entry is shared with a
running server. (They were hard-linked once, on the theory that nothing writes a template no one
may connect to. Measured, two servers started from one entry wrote the shared files within
seconds: autovacuum visits every database with a statistics entry, connections allowed or not;
the template has one (its build connected, and a server restores the saved statistics at start),
and so does template0 after a WAL_LOG CREATE DATABASE from it. The worker vacuums and analyzes
there, the shared catalogs that clones churn among them, and writes the template's own pg_class
and pg_statistic: each server through its own buffers into the one file. The likely cause of the
failed checkpoints a rehearsal beside a second run saw.) The cost, measured on tmpfs at load 6:
copying the default recipe's entry (this schema, no seed: 51 MB, four databases and one WAL
segment) takes 58 ms, 27 ms with every database linked.

Security is the initdb cache's: the entry keeps the superuser password it was saved with (a fresh
one, not the building run's), private to the server's user in a directory only root or the user can
enter; a run changes it to its own as soon as its server answers, before anyone gets the endpoints.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ProvisionError
from harness.provision.locking import exclusive
from harness.provision.registry import write_private

PASSWORD = "password"
DATA = "data"
MANIFEST = "manifest.json"
LOCK = ".lock"
LEFTOVER_AGE = 3600.0  # seconds after which a staging directory is a killed save's, not one in progress
WAL_SEGMENT = re.compile("[0-9A-F]{24}")
# In every entry's key: the entries of format 1 (templates hard-linked) may have been written
# through their links, and are never used.
FORMAT = 2
# What a copy leaves out: the server's log files and a pid file (absent after a clean stop).
NOT_COPIED = ("log", "postmaster.pid", "postmaster.opts")


def snapshot_root(initdb_cache: Path) -> Path:
    return initdb_cache.with_name(initdb_cache.name + "-templates")


def entry_key(initdb_key: str, recipe_key: str) -> str:
    return hashlib.sha256(f"{initdb_key}\0{recipe_key}\0{FORMAT}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    """A cache entry as `harness cache list` shows it."""

    path: Path
    size: int  # bytes it holds on its filesystem (sparse files' holes hold none)
    saved: float  # when last saved or used (the entry directory's mtime)
    templates: tuple[str, ...]
    whole: bool


def _whole(entry: Path) -> bool:
    return (
        all((entry / name).is_file() for name in (PASSWORD, MANIFEST))
        and (entry / DATA / "global" / "pg_control").is_file()
    )


def _read_manifest(entry: Path) -> dict[str, Any]:
    data = json.loads((entry / MANIFEST).read_text())
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def _cp(args: list[str], what: str) -> None:
    result = subprocess.run(["cp", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ProvisionError(f"{what} failed: {result.stderr.strip()}")


def copy_data(source: Path, target: Path, sparse: bool = False) -> None:
    """Copy `source` (a data directory) to `target`, with owner and modes, but for NOT_COPIED.
    `sparse`: runs of zeros become holes (most of a WAL segment, the free pages of relations), so
    each copy made from this one (cp keeps holes) writes a third less."""
    target.mkdir(mode=0o700)
    shutil.copystat(source, target)
    with contextlib.suppress(PermissionError):
        os.chown(target, source.stat().st_uid, source.stat().st_gid)
    contents = [p for p in source.iterdir() if p.name not in NOT_COPIED]
    if contents:
        _cp(["-a", *(["--sparse=always"] if sparse else []), *map(str, contents), str(target)], f"copying {source}")


class SnapshotCache:
    """The entry in `root` of one server (`initdb_key`) and one recipe (`recipe_key`)."""

    def __init__(self, root: Path, initdb_key: str, recipe_key: str, keep: int, uid: int, gid: int) -> None:
        self.root = root
        self.entry = root / entry_key(initdb_key, recipe_key)
        self.keep = keep
        self.uid, self.gid = uid, gid

    def saved(self) -> bool:
        """Whether a whole entry is there (intact or not: that is checked when it is used)."""
        return _whole(self.entry)

    def copy_to(self, data: Path) -> str | None:
        """A copy of the entry's data directory at `data` and its superuser's password; None (and
        nothing at `data`) when there is no intact entry: a damaged one is removed."""
        if not _whole(self.entry):
            return None
        try:
            _read_manifest(self.entry)
            copy_data(self.entry / DATA, data)
            password = (self.entry / PASSWORD).read_text().strip()
        except (OSError, ValueError, ProvisionError):
            shutil.rmtree(data, ignore_errors=True)  # removed meanwhile (pruned), or unreadable
            return None
        with contextlib.suppress(OSError):
            os.utime(self.entry)  # used: the newest entries are kept
        return password

    async def save(self, data: Path, password: str, templates: list[str], redo_segment: str, timeout: float) -> None:
        """Save `data` (a cleanly stopped server's data directory with the template databases
        `templates` built) whose superuser's password is `password`. Of the WAL, only
        `redo_segment` is kept (the shutdown checkpoint's: the others are recycled ones, up to
        max_wal_size after a large seed)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.root.stat().st_uid == os.geteuid():
            self.root.chmod(0o711 if os.geteuid() == 0 else 0o700)
        async with exclusive(self.root / LOCK, f"the template snapshot cache {self.root}", timeout):
            if _whole(self.entry):
                return  # a concurrent run saved it first
            staging = self._unique("build")
            staging.mkdir(mode=0o700)
            try:
                copy_data(data, staging / DATA, sparse=True)
                for segment in (staging / DATA / "pg_wal").iterdir():
                    if WAL_SEGMENT.fullmatch(segment.name) and segment.name != redo_segment:
                        segment.unlink()
                manifest = {"templates": sorted(templates), "saved": time.time()}
                write_private(staging / MANIFEST, json.dumps(manifest))
                write_private(staging / PASSWORD, password + "\n")
                for path in (staging, staging / MANIFEST, staging / PASSWORD):
                    os.chown(path, self.uid, self.gid)
                if self.entry.exists():
                    self._remove(self.entry, "damaged")
                staging.rename(self.entry)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            prune(self.root, self.keep)

    def _remove(self, entry: Path, why: str) -> None:
        """Rename aside first: a run copying it meanwhile fails its copy and builds, never half-reads."""
        aside = self._unique(why)
        with contextlib.suppress(FileNotFoundError):
            entry.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)

    def _unique(self, why: str) -> Path:
        return self.root / f"{self.entry.name}.{why}.{os.getpid()}.{secrets.token_hex(4)}"


def entries(root: Path) -> list[Entry]:
    """The entries in `root`, newest first."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if not path.is_dir() or "." in path.name:
            continue
        templates: tuple[str, ...] = ()
        with contextlib.suppress(OSError, ValueError, TypeError):
            templates = tuple(str(name) for name in _read_manifest(path).get("templates", ()))
        found.append(Entry(path, _size(path), path.stat().st_mtime, templates, _whole(path)))
    return sorted(found, key=lambda entry: entry.saved, reverse=True)


def _size(path: Path) -> int:
    seen: set[int] = set()
    total = 0
    for file in path.rglob("*"):
        with contextlib.suppress(OSError):
            stat = file.lstat()
            if stat.st_ino not in seen:
                seen.add(stat.st_ino)
                total += stat.st_blocks * 512  # st_blocks counts 512-byte units whatever the block size
    return total


def prune(root: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest entries, and what killed saves left (an hour old); the removed."""
    removed = []
    for path in root.iterdir():
        with contextlib.suppress(OSError):
            if "." in path.name and path.is_dir() and time.time() - path.stat().st_mtime > LEFTOVER_AGE:
                shutil.rmtree(path, ignore_errors=True)
    for entry in entries(root)[keep:]:
        aside = root / f"{entry.path.name}.pruned.{os.getpid()}.{secrets.token_hex(4)}"
        with contextlib.suppress(FileNotFoundError):
            entry.path.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
            removed.append(entry.path)
    return removed


def clear(root: Path) -> int:
    """Remove every entry (and leftovers); how many entries there were."""
    count = len(entries(root))
    if root.is_dir():
        for path in root.iterdir():
            if path.name != LOCK:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return count
