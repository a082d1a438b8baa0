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
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # before unlocking: a waiter then finds its file gone and opens anew
        os.close(fd)


async def _acquire(path: Path, what: str, deadline: float, timeout: float) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ProvisionError(
                            f"{what} is being set up by another process, still after {timeout:.0f}s "
                            f"(lock {path}); wait for it, or raise HARNESS_HANG_TIMEOUT"
                        ) from None
                    await asyncio.sleep(POLL_SECONDS)
            if _same_file(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed the file as we waited: lock the new one


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False
