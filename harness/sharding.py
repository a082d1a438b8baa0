"""`pytest --harness-shard I/N`: which part of a suite one of N machines runs. The split itself is
pytest-split's (least-duration first over the committed `.test_durations`; a test missing from it
counts as the average); this module reads and checks the `I/N` a CI matrix passes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import ConfigurationError

DURATIONS_FILE = ".test_durations"  # at the project root; written by `pytest --store-durations`
ALGORITHM = "least_duration"  # balances by duration across the whole suite, not in file order
SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as CI matrices count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`"1/2"` → Shard(1, 2); anything else (`3/2`, `0/2`, `x`) is one line saying what is allowed."""
    matched = SHARD.fullmatch(text)
    if matched is None:
        raise ConfigurationError(f"--harness-shard {text}: expected I/N, the shard I of N (e.g. 1/2)")
    index, count = int(matched[1]), int(matched[2])
    if count < 1 or not 1 <= index <= count:
        raise ConfigurationError(f"--harness-shard {text}: I must be from 1 to N (N >= 1), e.g. 1/{max(count, 2)}")
    return Shard(index, count)
