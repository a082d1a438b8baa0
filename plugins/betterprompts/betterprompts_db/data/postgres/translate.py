"""Driver errors → the data layer's errors, in one place, each naming what failed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from betterprompts_db.data.errors import (
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
KEY_COLUMNS = re.compile(r"Key \((?P<columns>.*?)\)=\(")  # `Key (lower(email::text))=(…)`: the columns
DRIVER_ARGUMENT = re.compile(r"invalid input for query argument \$(?P<position>\d+)")


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
        # the constraint and its columns, never the value: it may be another user's
        key = KEY_COLUMNS.match(exc.detail or "")
        return Conflict(f"{what}: {exc.constraint_name} already holds that {key['columns'] if key else 'value'}")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return NotFound(f"{what}: {exc.detail or exc.message}")
    if isinstance(exc, asyncpg.CheckViolationError | asyncpg.NotNullViolationError | asyncpg.ExclusionViolationError):
        return InvalidInput(_field(exc, what), f"{what} refuses it ({exc.message})")
    if isinstance(exc, asyncpg.SerializationError | asyncpg.DeadlockDetectedError):
        return TransactionConflict(f"{what}: {exc.message}; retry the transaction")
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return PermissionDenied(f"{what}: {exc.message}")
    if isinstance(exc, asyncpg.FeatureNotSupportedError) and "row-level security" in (exc.message or ""):
        return PermissionDenied(f"{what}: {exc.message} (a role under RLS inserts row by row)")
    if isinstance(exc, asyncpg.QueryCanceledError | asyncpg.LockNotAvailableError):
        return Timeout(f"{what}: {exc.message}")
    if isinstance(exc, asyncpg.DataError | asyncpg.InvalidParameterValueError):
        refused = DRIVER_ARGUMENT.match(str(exc.args[0]) if exc.args else "")
        if refused is not None and exc.message is None:  # the driver could not encode an argument
            return _driver_refusal(exc, what, int(refused["position"]))
        return InvalidInput(_field(exc, what), f"{exc.message}")
    if isinstance(exc, TimeoutError):  # before DROPPED: TimeoutError is an OSError
        return Timeout(f"{what}: no answer within the command timeout")
    if isinstance(exc, DROPPED):
        return Unavailable(f"{what}: the server is unreachable or dropped the connection ({exc})")
    if isinstance(exc, asyncpg.PostgresError) and getattr(exc, "sqlstate", "").startswith("57P"):
        return Unavailable(f"{what}: {exc}")  # admin shutdown, crash shutdown, cannot connect now
    return None


def _driver_refusal(exc: asyncpg.DataError, what: str, position: int) -> InvalidInput:
    """asyncpg refused to encode argument `position` (an int beyond int4, text it cannot encode):
    its reason, without the value, for the caller that built the statement to name."""
    cause = exc.__cause__
    reason = f"{type(cause).__name__}: {cause}"[:200] if cause is not None else "the driver cannot encode it"
    return InvalidInput(f"argument ${position} of {what}", reason, argument=position)


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
