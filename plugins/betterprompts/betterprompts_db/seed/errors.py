"""The seeder's errors, each naming the file, profile or table involved."""

from __future__ import annotations

from harness.errors import HarnessError


class SeedError(HarnessError):
    """Base of the seeder's errors."""


class SeedFileError(SeedError):
    """A file under seeds/ is missing, unreadable or inconsistent."""


class UnknownProfile(SeedError):
    """The requested profile is not defined in seeds/profiles.toml."""


class SeedConflict(SeedError):
    """A row already in the database collides with a seeded row on a unique key."""
