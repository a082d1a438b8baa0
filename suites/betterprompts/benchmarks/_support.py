"""What the benchmark modules share: full or quick mode (HARNESS_BENCH_QUICK=1 gives fewer rounds
and smaller batches, for a CI pass of a few minutes whose ratios are still compared with the
committed baseline), and timing a layer-or-raw side in batches."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pytest_benchmark.fixture import BenchmarkFixture

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


def measure_side(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    side: str,
    op: Callable[[int], Awaitable[Any]],
    *,
    ops: int,
    concurrency: int,
    rounds: int,
    warmup_rounds: int = 1,
) -> None:
    """Time rounds of `ops` calls of `op`; side "layer" is the group's subject, "raw" its baseline."""
    role = {"layer": "subject", "raw": "baseline"}[side]
    benchmark.extra_info.update(role=role, ops_per_round=ops, concurrency=concurrency)
    benchmark.pedantic(batch(loop, op, ops, concurrency), rounds=rounds, warmup_rounds=warmup_rounds)
