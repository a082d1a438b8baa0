"""redis-py types replies as `bytes | str` (which depends on `decode_responses`); this package's
client never decodes, and these narrow the types without trusting a cast."""

from __future__ import annotations


def as_bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
