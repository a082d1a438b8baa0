"""A Redis logical database of the session's own, on servers it may share: xdist workers, two
`--reuse` runs of one project, mutmut's mutants judged side by side. A worker number alone is not
enough (every session without xdist is "worker 0"), so each session holds an flock on a file
named after the server and the database for as long as it runs; the kernel releases it when the
holder dies. The holder removes the file when it lets go (`harness gc` removes one a killed holder
left). Database 0 stays the application's."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import redis

from harness.errors import ProvisionError
from harness.provision.endpoints import redact
from harness.provision.locking import try_lock, unlock

DEFAULT_DATABASES = 16  # redis.conf's default, when the server will not say


def database_count(url: str, timeout: float) -> int:
    """How many logical databases the server has (`databases`); the default when CONFIG is refused."""
    with redis.Redis.from_url(url, socket_timeout=timeout) as client:
        try:
            return int(client.config_get("databases")["databases"])
        except (redis.ResponseError, KeyError, ValueError):
            return DEFAULT_DATABASES


@contextlib.contextmanager
def claimed_database(state_dir: Path, url: str, preferred: int, count: int) -> Iterator[int]:
    """Hold one of databases 1..count-1, `preferred` first (so xdist workers keep theirs)."""
    parts = urlsplit(url)
    server = hashlib.sha256(f"{parts.hostname}:{parts.port}".encode()).hexdigest()[:12]
    numbers = range(1, count)
    for offset in range(len(numbers)):
        number = numbers[(preferred + offset) % len(numbers)]
        path = state_dir / f"redis-{server}-db{number}.lock"
        fd = try_lock(path)
        if fd is None:
            continue
        try:
            yield number
        finally:
            unlock(path, fd)
        return
    raise ProvisionError(
        f"every Redis logical database 1-{count - 1} of {redact(url)} is held by another session "
        f"(locks {state_dir}/redis-{server}-db*.lock): run fewer sessions at once, or raise `databases` in redis.conf"
    )
