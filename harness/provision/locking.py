"""An exclusive lock on a file in the state directory, so two commands that want the same
persistent environment (two `harness up --detach`, two `--reuse` runs) take turns instead of both
starting it. flock, not check-then-act: the kernel releases it when its holder dies."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from harness.errors import ProvisionError

POLL_SECONDS = 0.05


@contextlib.asynccontextmanager
async def exclusive(path: Path, what: str, timeout: float) -> AsyncIterator[None]:
    """Hold `path` locked; wait up to `timeout` seconds for another holder to finish."""
    deadline = time.monotonic() + timeout
    fd = await _acquire(path, what, deadline, timeout)
    try:
        yield
    finally:
        unlock(path, fd)


async def _acquire(path: Path, what: str, deadline: float, timeout: float) -> int:
    while (fd := try_lock(path)) is None:
        if time.monotonic() > deadline:
            raise ProvisionError(
                f"{what} is being set up by another process, still after {timeout:.0f}s "
                f"(lock {path}); wait for it, or raise HARNESS_HANG_TIMEOUT"
            )
        await asyncio.sleep(POLL_SECONDS)
    return fd


def try_lock(path: Path) -> int | None:
    """`path` locked (its descriptor), or None while another holds it. A holder removes the file
    before it unlocks (`unlock`), so a lock won on a file that is no longer at `path` is dropped
    and taken again on the new one: two holders never share a name."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        if _same_file(fd, path):
            return fd
        os.close(fd)  # the holder removed the file as we opened it: lock the new one


def unlock(path: Path, fd: int) -> None:
    """Remove `path`, then let go of it (see `try_lock`): nothing is left in the state directory."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False
