"""`seed`: generate a profile's world and load whatever of it the database lacks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from harness.seed.dataset import build_dataset
from harness.seed.loader import TableLoad, load_dataset


@dataclass(frozen=True)
class SeedReport:
    """What one `seed` call did: rows the profile defines, what each table's load added, and how long
    generating and loading took."""

    profile: str
    scale: float
    expected: dict[str, int]
    tables: dict[str, TableLoad]
    generate_seconds: float
    load_seconds: float

    @property
    def inserted(self) -> dict[str, int]:
        return {name: load.inserted for name, load in self.tables.items()}

    @property
    def rows_inserted(self) -> int:
        return sum(self.inserted.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows_inserted / (self.generate_seconds + self.load_seconds)


async def seed(
    dsn: str,
    profile: str = "minimal",
    *,
    scale: float = 1.0,
    clean: bool = False,
    seeds_dir: Path = Path("seeds"),
    bcrypt_cost: int | None = None,
) -> SeedReport:
    """Load `profile` at `scale` into the migrated database at `dsn`.

    Idempotent: rows whose stable ids exist are skipped, so a second run adds nothing and a run
    over a partial load completes it. `clean` empties the BetterPrompts tables first.
    `bcrypt_cost` defaults to HARNESS_BCRYPT_COST, else 12.
    """
    started = time.perf_counter()
    dataset = build_dataset(seeds_dir, profile, scale, bcrypt_cost)
    generated = time.perf_counter()
    tables = await load_dataset(dsn, dataset, clean)
    return SeedReport(profile, scale, dataset.counts(), tables, generated - started, time.perf_counter() - generated)
