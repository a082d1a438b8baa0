"""Stable identifiers: the same seed and name always give the same UUID, in every database."""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("6f1d3c62-8a7e-5b94-9d2f-3c1e0b7a4d58")


def stable_uuid(seed: int, *parts: object) -> uuid.UUID:
    """uuid5 of the seed and the row's name (`"history", 42`), so reseeding finds the same rows."""
    return uuid.uuid5(NAMESPACE, ":".join(map(str, (seed, *parts))))
