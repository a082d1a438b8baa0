"""Full or quick: HARNESS_BENCH_QUICK=1 gives fewer rounds and smaller batches, for a CI pass of
a few minutes whose ratios are still compared with the committed baseline."""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T", int, float)

QUICK = os.environ.get("HARNESS_BENCH_QUICK") == "1"


def rounds(full: T, quick: T) -> T:
    """`full`, or `quick` in quick mode (rounds, batch sizes, scales)."""
    return quick if QUICK else full
