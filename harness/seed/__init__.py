"""Seeds: deterministic BetterPrompts worlds (profiles minimal, demo, load) generated from seeds/ and
loaded by COPY, incrementally or after a clean."""

from harness.seed.dataset import Dataset, Table, build_dataset
from harness.seed.errors import SeedConflict, SeedError, SeedFileError, UnknownProfile
from harness.seed.loader import SEEDED_SCHEMAS, TableLoad, load_dataset
from harness.seed.passwords import bcrypt_cost, hash_password, token_hash, verify_password
from harness.seed.profiles import Profile, World, load_profile, profile_names
from harness.seed.reference import Reference, load_reference
from harness.seed.seeding import SeedReport, seed
from harness.seed.vectors import decode_vector

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
    "bcrypt_cost",
    "build_dataset",
    "decode_vector",
    "hash_password",
    "load_dataset",
    "load_profile",
    "load_reference",
    "profile_names",
    "seed",
    "token_hash",
    "verify_password",
]
