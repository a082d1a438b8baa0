"""Stable identifiers: the same seed and name always give the same UUID, in every database."""

from __future__ import annotations

import hashlib
import uuid

NAMESPACE = uuid.UUID("6f1d3c62-8a7e-5b94-9d2f-3c1e0b7a4d58")
PREFIX = NAMESPACE.bytes
VARIANT_VERSION_MASK = ~((0xC000 << 48) | (0xF000 << 64))
RFC_4122_VERSION_5 = (0x8000 << 48) | (5 << 76)


def stable_uuid(seed: int, *parts: object) -> uuid.UUID:
    """uuid5 of the seed and the row's name (`"history", 42`), so reseeding finds the same rows.
    `uuid.uuid5` computed inline: its bytes→int round trip and checks cost more than the SHA-1."""
    digest = hashlib.sha1(PREFIX + ":".join(map(str, (seed, *parts))).encode()).digest()
    value = int.from_bytes(digest[:16]) & VARIANT_VERSION_MASK | RFC_4122_VERSION_5
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)  # as UUID.__init__ does (UUID forbids setting attributes)
    object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
    return made
