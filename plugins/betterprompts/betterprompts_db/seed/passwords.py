"""Secrets as the schema stores them: bcrypt for passwords, sha256 hex for tokens and keys.

bcrypt is slow on purpose, so each distinct password is hashed once per process and cost; seeded
hashes take their salt from the seed, so two loads of a profile store the same hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib

import bcrypt

from betterprompts_db.settings import DEFAULT_BCRYPT_COST, MAX_BCRYPT_COST, MIN_BCRYPT_COST
from harness.errors import ConfigurationError

BCRYPT_MAX_BYTES = 72  # bcrypt reads no further; bcrypt>=5 refuses a longer password
STANDARD_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
BCRYPT_B64 = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def bcrypt_cost(cost: int) -> int:
    """`cost`, once bcrypt is known to accept it. Callers pass the bcrypt_cost setting in force
    (betterprompts_db.settings) or their own."""
    if not MIN_BCRYPT_COST <= cost <= MAX_BCRYPT_COST:
        raise ConfigurationError(f"bcrypt cost {cost} is outside {MIN_BCRYPT_COST}..{MAX_BCRYPT_COST}")
    return cost


def salt_for(cost: int, entropy: bytes) -> bytes:
    """A bcrypt salt (`$2b$NN$` and 22 characters) carrying the first 16 bytes of `entropy`."""
    encoded = base64.b64encode(entropy[:16]).rstrip(b"=").translate(bytes.maketrans(STANDARD_B64, BCRYPT_B64))
    return b"$2b$%02d$" % cost + encoded


@functools.cache
def seeded_password_hash(password: str, cost: int, seed: int) -> str:
    """The bcrypt hash of `password`, salted from the seed: reproducible, computed once."""
    entropy = hashlib.sha256(f"{seed}:{password}".encode()).digest()
    return bcrypt.hashpw(password.encode(), salt_for(cost, entropy)).decode()


def hash_password(password: str, cost: int = DEFAULT_BCRYPT_COST) -> str:
    """A fresh bcrypt hash with a random salt, for `harness hash-password`."""
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise ConfigurationError(
            f"the password is {len(password.encode())} bytes in UTF-8; bcrypt takes at most {BCRYPT_MAX_BYTES}"
        )
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=bcrypt_cost(cost))).decode()


def verify_password(password: str, password_hash: str) -> bool:
    return bcrypt.checkpw(password.encode(), password_hash.encode())
