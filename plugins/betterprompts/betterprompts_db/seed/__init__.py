"""Seeds: deterministic BetterPrompts worlds (profiles minimal, demo, load, large) generated from seeds/ and
made batch by batch and loaded by COPY, in bulk into an empty database or incrementally."""

from betterprompts_db.seed.dataset import Dataset, Table, WorldWriter, build_dataset
from betterprompts_db.seed.errors import SeedConflict, SeedError, SeedFileError, UnknownProfile
from betterprompts_db.seed.loader import SEEDED_SCHEMAS, TableLoad, load_dataset
from betterprompts_db.seed.passwords import bcrypt_cost, hash_password, verify_password
from betterprompts_db.seed.profiles import Profile, World, load_profile, profile_names
from betterprompts_db.seed.reference import Reference, load_reference
from betterprompts_db.seed.seeding import SeedReport, seed

__all__ = [
    "SEEDED_SCHEMAS",
    "Dataset",
    "Profile",
    "Reference",
    "SeedConflict",
    "SeedError",
    "SeedFileError",
    "SeedReport",
    "Table",
    "TableLoad",
    "UnknownProfile",
    "World",
    "WorldWriter",
    "bcrypt_cost",
    "build_dataset",
    "hash_password",
    "load_dataset",
    "load_profile",
    "load_reference",
    "profile_names",
    "seed",
    "verify_password",
]
