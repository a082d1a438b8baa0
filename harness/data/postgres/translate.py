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


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run a statement on `what` (a table or operation); re-raise driver errors as DataError."""
    try:
        yield
    except DataError:
        raise
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"{what}: {exc.constraint_name} already holds {exc.detail or 'that value'}") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFound(f"{what}: {exc.detail or exc.message}") from exc
    except (asyncpg.CheckViolationError, asyncpg.NotNullViolationError, asyncpg.ExclusionViolationError) as exc:
        raise InvalidInput(_field(exc, what), f"{what} refuses it ({exc.message})") from exc
    except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError) as exc:
        raise TransactionConflict(f"{what}: {exc.message}; retry the transaction") from exc
    except asyncpg.InsufficientPrivilegeError as exc:
        raise PermissionDenied(f"{what}: {exc.message}") from exc
    except (asyncpg.QueryCanceledError, asyncpg.LockNotAvailableError) as exc:
        raise Timeout(f"{what}: {exc.message}") from exc
    except (asyncpg.DataError, asyncpg.InvalidParameterValueError) as exc:
        raise InvalidInput(_field(exc, what), f"{exc.message}") from exc
    except (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,  # a server's goodbye arrived while the connection was idle
        ConnectionError,
        OSError,
    ) as exc:
        raise Unavailable(f"{what}: the server is unreachable or dropped the connection ({exc})") from exc
    except asyncpg.PostgresError as exc:
        if getattr(exc, "sqlstate", "").startswith("57P"):  # admin shutdown, crash shutdown, cannot connect now
            raise Unavailable(f"{what}: {exc}") from exc
        raise
    except TimeoutError as exc:
        raise Timeout(f"{what}: no answer within the command timeout") from exc
