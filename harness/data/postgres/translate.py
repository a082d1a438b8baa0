"""Driver errors → the data layer's errors, in one place, each naming what failed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from harness.data.errors import (
    Conflict,
    DataError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Timeout,
    TransactionConflict,
    Unavailable,
)

DETAIL_KEY = re.compile(r"Key \((?P<column>[^)]+)\)=")


def _field(exc: asyncpg.PostgresError, table: str) -> str:
    """The column a constraint or message is about: `history_feedback_score_check` → feedback_score."""
    column = getattr(exc, "column_name", None)
    if column:
        return str(column)
    detail = DETAIL_KEY.search(getattr(exc, "detail", None) or "")
    if detail:
        return detail["column"]
    constraint = getattr(exc, "constraint_name", None) or ""
    short = table.rpartition(".")[2]
    name = constraint.removeprefix(short + "_")
    return re.sub(r"_(check|key|fkey|pkey)$", "", name) or table


def translate(exc: BaseException, what: str) -> DataError | None:
    """The DataError for a driver error raised while working on `what`, or None to let it pass."""
    if isinstance(exc, DataError):
        return None
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Conflict(f"{what}: {exc.constraint_name} already holds {exc.detail or 'that value'}")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return NotFound(f"{what}: {exc.detail or exc.message}")
    if isinstance(exc, asyncpg.CheckViolationError | asyncpg.NotNullViolationError | asyncpg.ExclusionViolationError):
        return InvalidInput(_field(exc, what), f"{what} refuses it ({exc.message})")
    if isinstance(exc, asyncpg.SerializationError | asyncpg.DeadlockDetectedError):
        return TransactionConflict(f"{what}: {exc.message}; retry the transaction")
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return PermissionDenied(f"{what}: {exc.message}")
    if isinstance(exc, asyncpg.QueryCanceledError | asyncpg.LockNotAvailableError):
        return Timeout(f"{what}: {exc.message}")
    if isinstance(exc, asyncpg.DataError | asyncpg.InvalidParameterValueError):
        return InvalidInput(_field(exc, what), f"{exc.message}")
    if isinstance(exc, TimeoutError):  # before DROPPED: TimeoutError is an OSError
        return Timeout(f"{what}: no answer within the command timeout")
    if isinstance(exc, DROPPED):
        return Unavailable(f"{what}: the server is unreachable or dropped the connection ({exc})")
    if isinstance(exc, asyncpg.PostgresError) and getattr(exc, "sqlstate", "").startswith("57P"):
        return Unavailable(f"{what}: {exc}")  # admin shutdown, crash shutdown, cannot connect now
    return None


DROPPED = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a server's goodbye arrived while the connection was idle
    ConnectionError,
    OSError,
)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run a statement on `what` (a table or operation); re-raise driver errors as DataError."""
    try:
        yield
    except Exception as exc:
        mapped = translate(exc, what)
        if mapped is None:
            raise
        raise mapped from exc
