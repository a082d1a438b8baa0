"""What the benchmark modules share: full or quick mode (HARNESS_BENCH_QUICK=1 gives fewer rounds
and smaller batches, for a CI pass of a few minutes whose ratios are still compared with the
committed baseline), and the batch every async benchmark times."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

QUICK = os.environ.get("HARNESS_BENCH_QUICK") == "1"
T = TypeVar("T", int, float)


def rounds(full: T, quick: T) -> T:
    """`full`, or `quick` in quick mode (rounds, batch sizes, scales)."""
    return quick if QUICK else full


def batch(
    loop: asyncio.AbstractEventLoop, op: Callable[[int], Awaitable[Any]], ops: int, concurrency: int
) -> Callable[[], None]:
    """A timed round: `ops` calls of `op(i)`, `concurrency` at a time, on one long-lived loop."""

    async def run() -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                await op(i)

        await asyncio.gather(*(one(i) for i in range(ops)))

    return lambda: loop.run_until_complete(run())
