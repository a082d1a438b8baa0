"""seeds/profiles.toml: the world every profile shares, and each profile's counts at a scale."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betterprompts_db.seed.errors import SeedFileError, UnknownProfile
from betterprompts_db.seed.reference import read_toml
from harness.errors import ConfigurationError

PROFILES_FILE = "profiles.toml"
MAX_SCALE = 100  # the load profile at 100 is 20M history rows (made in batches: minutes per million)


@dataclass(frozen=True)
class World:
    """What makes two loads identical: the random seed and a fixed clock."""

    random_seed: int
    epoch: dt.datetime
    history_months: int
    embedding_dimension: int
    embedding_clusters: int
    embedding_model: str
    generated_passwords: tuple[str, ...]

    @property
    def history_start(self) -> dt.datetime:
        """The first day of the month `history_months` calendar months before the epoch."""
        months = self.epoch.year * 12 + self.epoch.month - 1 - self.history_months
        return dt.datetime(months // 12, months % 12 + 1, 1, tzinfo=dt.UTC)

    def history_month_starts(self) -> list[dt.date]:
        """The first day of every month history falls in: one partition each."""
        months, day = [], self.history_start.date()
        while dt.datetime.combine(day, dt.time(), dt.UTC) < self.epoch:
            months.append(day)
            day = (day + dt.timedelta(days=32)).replace(day=1)
        return months


@dataclass(frozen=True)
class Profile:
    """A profile's counts, already multiplied by `scale`."""

    name: str
    description: str
    scale: float
    users: int
    history: int
    embedded_history: float
    sessions_per_user: float
    api_key_share: float
    preference_share: float
    saved_share: float
    collection_share: float
    activity_share: float


COUNTS = ("users", "history")


def scaled(count: int, scale: float) -> int:
    """`count * scale`, rounded; a non-zero count stays at least 1."""
    return 0 if count == 0 else max(1, round(count * scale))


def read_profiles(seeds_dir: Path) -> tuple[World, dict[str, dict[str, Any]]]:
    path = seeds_dir / PROFILES_FILE
    data = read_toml(path)
    try:
        world_data = dict(data["world"])
        world_data["generated_passwords"] = tuple(world_data["generated_passwords"])
        world = World(**world_data)
    except (KeyError, TypeError) as exc:
        raise SeedFileError(f"{path}: [world]: {exc!r}") from exc
    if not isinstance(world.epoch, dt.datetime) or world.epoch.tzinfo is None:
        raise SeedFileError(f"{path}: [world] epoch must be a date-time with a zone, like 2026-01-01T00:00:00Z")
    return world, dict(data.get("profiles", {}))


def load_profile(seeds_dir: Path, name: str, scale: float = 1.0) -> tuple[World, Profile]:
    """The world and profile `name` at `scale`."""
    if not 0 < scale <= MAX_SCALE:  # NaN and infinity fail it too
        raise ConfigurationError(f"seed scale {scale:g} is outside 0 < scale <= {MAX_SCALE}")
    world, profiles = read_profiles(seeds_dir)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise UnknownProfile(f"{seeds_dir / PROFILES_FILE}: no profile {name!r} (profiles: {known})")
    entry = dict(profiles[name])
    fields = {f.name for f in dataclasses.fields(Profile)} - {"name", "scale"}
    if set(entry) != fields:
        missing, extra = sorted(fields - set(entry)), sorted(set(entry) - fields)
        raise SeedFileError(f"{seeds_dir / PROFILES_FILE}: [profiles.{name}]: missing {missing}, unknown {extra}")
    for count in COUNTS:
        entry[count] = scaled(int(entry[count]), scale)
    return world, Profile(name=name, scale=scale, **entry)


def profile_names(seeds_dir: Path) -> list[str]:
    return sorted(read_profiles(seeds_dir)[1])
