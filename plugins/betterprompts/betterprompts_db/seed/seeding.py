"""`seed`: generate a profile's world and load whatever of it the database lacks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from betterprompts_db.seed.dataset import BATCH, WorldWriter
from betterprompts_db.seed.loader import TableLoad, load_dataset
from betterprompts_db.settings import DEFAULT_BCRYPT_COST


@dataclass(frozen=True)
class SeedReport:
    """What one `seed` call did: rows the profile defines, what each table's load added, and how long
    generating and loading took (they alternate, batch by batch: generating is the time spent making
    the batches, loading all the rest)."""

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
    `bcrypt_cost`: the commands pass the bcrypt_cost setting in force. `progress` gets a line per
    batch of history loaded, one per table at the end, and one per table whose indexes were built
    after a bulk load.
    """
    say = progress or (lambda line: None)
    started = time.perf_counter()
    writer = WorldWriter(seeds_dir, profile, scale, bcrypt_cost)
    say(f"{profile} x{scale:g}: {writer.profile.history:,} history rows, made and loaded {BATCH:,} at a time")
    made = time.perf_counter() - started  # the users, with their bcrypt hashes
    tables = await load_dataset(dsn, writer, clean, say)
    generated = made + sum(t.generate_seconds for t in tables.values())
    expected = {name: t.generated for name, t in tables.items()}
    return SeedReport(profile, scale, expected, tables, generated, time.perf_counter() - started - generated)
