"""redis-py errors → the data layer's errors, in one place, each naming the key or namespace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis import exceptions as rx

from betterprompts_db.data.errors import (
    AuthenticationFailed,
    DataError,
    PermissionDenied,
    PoolExhausted,
    Timeout,
    Unavailable,
)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run Redis commands on `what` (a key or namespace); re-raise driver errors as DataError."""
    try:
        yield
    except rx.NoPermissionError as exc:
        raise PermissionDenied(f"{what}: the ACL user may not do this ({exc})") from exc
    except (rx.AuthenticationError, rx.AuthorizationError) as exc:
        raise AuthenticationFailed(f"{what}: Redis refused the credentials ({exc})") from exc
    except rx.ConnectionError as exc:
        # the BlockingConnectionPool reports a timed-out wait for a free connection this way
        if isinstance(exc.__cause__, TimeoutError):
            raise PoolExhausted(f"{what}: no pooled connection became free in time") from exc
        raise Unavailable(f"{what}: Redis is unreachable or dropped the connection ({exc})") from exc
    except (rx.TimeoutError, TimeoutError) as exc:
        raise Timeout(f"{what}: Redis did not answer within the socket timeout") from exc
    except rx.RedisError as exc:
        raise DataError(f"{what}: Redis refused the command ({exc})") from exc
