"""SIGTERM raised as an interrupt, so that a command or a run that is terminated (a CI job
cancelled, `kill`, a timeout) leaves through its `finally` blocks and stops what it started."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def interrupt_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, _interrupt)


async def cancelled_on_sigterm(work: Awaitable[T]) -> T:
    """`work`, cancelled when SIGTERM arrives, as asyncio.run cancels it on Ctrl-C: its `finally`
    blocks run at an await. An interrupt raised by the signal handler instead lands wherever the
    loop happens to be, the driver's C code included (a rehearsal so terminated crashed); it
    leaves as KeyboardInterrupt all the same."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        return await work
    except asyncio.CancelledError:
        if terminated:
            raise KeyboardInterrupt(f"signal {signal.SIGTERM}") from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
