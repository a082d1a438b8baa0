"""`seed`: generate a profile's world and load whatever of it the database lacks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from betterprompts_db.seed.dataset import build_dataset
from betterprompts_db.seed.loader import TableLoad, load_dataset
from betterprompts_db.settings import DEFAULT_BCRYPT_COST


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

    @property
    def index_builds(self) -> dict[str, float]:
        """Seconds of each secondary index built after a bulk load, by index name."""
        return {name: s for load in self.tables.values() for name, s in load.index_builds.items()}

    @property
    def deferred_seconds(self) -> float:
        """Generating and loading, without the index builds a bulk load defers to its end."""
        return self.generate_seconds + self.load_seconds - sum(self.index_builds.values())


async def seed(
    dsn: str,
    profile: str = "minimal",
    *,
    scale: float = 1.0,
    clean: bool = False,
    seeds_dir: Path = Path("seeds"),
    bcrypt_cost: int = DEFAULT_BCRYPT_COST,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Load `profile` at `scale` into the migrated database at `dsn`.

    Idempotent: rows whose stable ids exist are skipped, so a second run adds nothing and a run
    over a partial load completes it. `clean` empties the BetterPrompts tables first.
    `bcrypt_cost`: the commands pass the bcrypt_cost setting in force. `progress` gets a line after
    generating, one per table loaded and one per table whose indexes were built after a bulk load.
    """
    say = progress or (lambda line: None)
    started = time.perf_counter()
    dataset = build_dataset(seeds_dir, profile, scale, bcrypt_cost)
    generated = time.perf_counter()
    rows, count = sum(dataset.counts().values()), len(dataset.tables)
    say(f"{profile} x{scale:g}: {rows:,} rows generated in {generated - started:.1f} s; loading {count} tables")
    tables = await load_dataset(dsn, dataset, clean, lambda name, load: say(loaded_line(name, load)))
    return SeedReport(profile, scale, dataset.counts(), tables, generated - started, time.perf_counter() - generated)


def loaded_line(table: str, load: TableLoad) -> str:
    if not load.index_builds:
        return f"{table}: {load.inserted:,} rows in {load.seconds:.1f} s"
    builds = ", ".join(f"{name.split('.')[-1]} {s:.1f} s" for name, s in load.index_builds.items())
    return f"{table}: indexes built in {load.index_seconds:.1f} s ({builds})"
