"""The data layer's errors: one class per failure a caller can act on, each naming what failed.

Driver errors (asyncpg, redis-py) never escape the data layer; they are mapped here.
"""

from __future__ import annotations

from harness.errors import HarnessError


class DataError(HarnessError):
    """Base of the data layer's errors."""


class NotFound(DataError):
    """No row or key with that identity (names the table or namespace and the id)."""


class Conflict(DataError):
    """A unique key is taken, or a concurrent change won (names the constraint or key)."""


class InvalidInput(DataError):
    """A value the schema or contract refuses: wrong vector dimension, malformed UUID, out-of-range
    enumeration, oversize or malformed JSON. `field` names the offending field and `reason` says
    what is wrong with it. `argument` is the 1-based position of the statement argument when only
    the driver could say which value it refused: whoever built the statement knows its name."""

    def __init__(self, field: str, reason: str, *, argument: int | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.argument = argument


class TransactionConflict(Conflict):
    """A serialization failure or deadlock: the whole transaction may succeed if retried."""


class PermissionDenied(DataError):
    """The role or ACL user may not do this (RLS, grants, Redis ACL)."""


class PoolExhausted(DataError):
    """No connection became free within the acquire timeout."""


class Timeout(DataError):
    """The server did not answer in time (statement timeout, a paused server, a lock wait)."""


class Unavailable(DataError):
    """The server cannot be reached or dropped the connection."""


class RateLimited(DataError):
    """The caller is over its limit; `retry_after` seconds until a request would be admitted."""

    def __init__(self, subject: str, limit: int, window_seconds: float, retry_after: float) -> None:
        super().__init__(f"{subject} is over its limit of {limit} per {window_seconds:g}s; retry in {retry_after:.3f}s")
        self.subject = subject
        self.limit = limit
        self.window_seconds = window_seconds
        self.retry_after = retry_after


class AuthenticationFailed(DataError):
    """Wrong credentials, an unknown or expired token, or a locked account (says which)."""
