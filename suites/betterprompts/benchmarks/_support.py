"""What the benchmark modules share: full or quick mode (HARNESS_BENCH_QUICK=1 gives fewer rounds
and smaller batches, for a CI pass of a few minutes whose ratios are still compared with the
committed baseline), timing operations in batches, and measuring a pair of sides in one benchmark
with their rounds alternating."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pytest_benchmark.fixture import BenchmarkFixture

QUICK = os.environ.get("HARNESS_BENCH_QUICK") == "1"
T = TypeVar("T", int, float)
Role = Literal["subject", "baseline"]


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


@dataclass(frozen=True)
class Side:
    """One side of a pair: its name in the report (the name a test of its own had, so the committed
    baselines' keys still match), the operations one round performs, one round, and what puts things
    back after a round, untimed (handing back what the round took)."""

    name: str
    ops_per_round: int
    round: Callable[[], None]
    reset: Callable[[], None] | None = None


def measure_pair(
    benchmark: BenchmarkFixture, subject: Side, baseline: Side, *, pairs: int, warmup_pairs: int = 1
) -> None:
    """Time `pairs` pairs of rounds, subject and baseline back to back, the first of a pair
    alternating (S B, B S, …) so neither side always runs on the other's warm caches or garbage.
    Both rounds of a pair meet the same machine, so their ratio holds where separate tests, seconds
    apart, each met a different moment. Each side's seconds per round go to `extra_info["paired"]`
    (`harness report` takes the median pair's ratio, with a bootstrap interval); pytest-benchmark
    times the pair, so the JSON stays its own. Untimed under xdist: one pair, no warm-up."""
    sides: dict[Role, Side] = {"subject": subject, "baseline": baseline}
    seconds: dict[Role, list[float]] = {"subject": [], "baseline": []}
    for _ in range(0 if benchmark.disabled else warmup_pairs):
        for side in (subject, baseline):
            side.round()
            if side.reset is not None:
                side.reset()
    orders: Iterator[tuple[Role, Role]] = itertools.cycle([("subject", "baseline"), ("baseline", "subject")])

    def pair() -> None:
        for role in next(orders):
            start = time.perf_counter()
            sides[role].round()
            seconds[role].append(time.perf_counter() - start)
            if (reset := sides[role].reset) is not None:
                reset()

    benchmark.pedantic(pair, rounds=pairs)
    benchmark.extra_info["paired"] = {
        role: {"name": side.name, "ops_per_round": side.ops_per_round, "rounds": seconds[role]}
        for role, side in sides.items()
    }


# A layer pair's rounds: in quick mode many short ones. On a busy machine a pair's ratio follows the
# share of the CPU each of its two rounds got, and that share moves from one moment to the next: two
# rounds of 50 operations meet the same moment more often than two of 200, and rounds
# stretched to 100 ms spread their pairs' ratios wider still. Over five busy runs the median of 120
# short pairs held within ±6 % where that of 20 long ones moved by up to ±15 % (README, Performance).
LAYER_OPS = rounds(200, 50)
LAYER_PAIRS = rounds(30, 120)


def measure_layer_pair(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    layer: Callable[[int], Awaitable[Any]],
    raw: Callable[[int], Awaitable[Any]],
    *,
    concurrency: int,
    ops: int = LAYER_OPS,
    pairs: int = LAYER_PAIRS,
    warmup_pairs: int = 1,
) -> None:
    """A layer operation (the subject) against the same work done raw (the baseline), in batches of
    `ops` calls, `concurrency` at a time."""
    benchmark.extra_info["concurrency"] = concurrency
    measure_pair(
        benchmark,
        Side(side_name(benchmark.name, "layer"), ops, batch(loop, layer, ops, concurrency)),
        Side(side_name(benchmark.name, "raw"), ops, batch(loop, raw, ops, concurrency)),
        pairs=pairs,
        warmup_pairs=warmup_pairs,
    )


def side_name(test: str, side: str) -> str:
    """What pytest named a side when each was a test: `test_x` → `test_x[layer]`, `test_x[8]` →
    `test_x[layer-8]` (the side was the innermost parameter)."""
    stem, _, params = test.partition("[")
    return f"{stem}[{side}-{params}" if params else f"{stem}[{side}]"
