"""The harness's errors: one base, a subclass per failure a caller can act on, and `explain`, which
turns an expected failure (ours or a driver's) into the one line a user sees and an exit status."""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

USAGE = 2  # exit status of a bad option value, setting or environment variable
FAILURE = 1  # exit status of every other expected failure: unreachable, refused, a bad file…
UNREACHABLE = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT, errno.EADDRNOTAVAIL}


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""

    exit_status: ClassVar[int] = FAILURE


class ConfigurationError(HarnessError):
    """A setting, option or environment variable is missing or invalid."""

    exit_status = USAGE


class ProvisionError(HarnessError):
    """A server could not be started, reached or stopped."""


class ResultsFileError(HarnessError):
    """A run's results (JUnit XML, benchmark JSON, Locust CSV) or a baseline is missing or unreadable."""


class MutationFailed(HarnessError):
    """A mutant's SQL (HARNESS_TEMPLATE_MUTATION) failed on the migrated template."""


class MigrationError(HarnessError):
    """Base of the migration runner's errors."""


class MigrationFileError(MigrationError):
    """A migration file is missing, misnamed, duplicated, empty or not UTF-8."""


class ChecksumMismatch(MigrationError):
    """An applied migration's file has changed since it was applied."""


class MigrationFailed(MigrationError):
    """A migration's SQL failed on the server; nothing of it was applied."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class VerificationFailed(MigrationError):
    """A down migration does not exactly reverse its up migration."""


class LintFailed(MigrationError):
    """squawk found problems in a migration and linting is set to fail."""


class MigrationsNotFound(ConfigurationError):
    """The migrations directory is missing or holds no migration: a setting points at the wrong
    place, and building a template from nothing would only fail later, far from the cause."""


class UnknownClone(HarnessError):
    """`harness drop` was given a clone's name that the running servers do not hold."""


class QueryBudgetError(HarnessError):
    """A query budget cannot count: no limit, no connection to watch, or one outside a transaction."""


@dataclass(frozen=True)
class Explanation:
    """What the CLI or the pytest plugin prints for an expected failure, and the exit status."""

    message: str
    exit_status: int


def explain(exc: BaseException, target: str | None = None) -> Explanation | None:
    """The one line for an expected failure: a HarnessError, an invalid setting, a server that is
    unreachable or refuses us. None for anything else, a bug, which keeps its traceback. `target`
    (a redacted DSN or URL) names the server for driver errors that do not name it themselves."""
    # A driver's error comes from a driver that is loaded: one that is not has none to explain, and
    # no reason to be loaded here (pydantic, asyncpg and redis-py cost a start-up their imports).
    pydantic = sys.modules.get("pydantic")
    asyncpg = sys.modules.get("asyncpg")
    redis_errors = sys.modules.get("redis.exceptions")
    where = f"{target}: " if target else ""
    if isinstance(exc, BaseExceptionGroup):  # asyncio.TaskGroup wraps what its tasks raised
        parts = [explain(inner, target) for inner in exc.exceptions]
        if not parts or any(part is None for part in parts):
            return None
        messages = list(dict.fromkeys(part.message for part in parts if part))
        return Explanation("; ".join(messages), max(part.exit_status for part in parts if part))
    if isinstance(exc, HarnessError):
        return Explanation(str(exc), exc.exit_status)
    if pydantic is not None and isinstance(exc, pydantic.ValidationError):
        return Explanation("; ".join(_invalid_setting(exc.title, error) for error in exc.errors()), USAGE)
    if asyncpg is not None and (explained := _asyncpg_error(asyncpg, exc, where)) is not None:
        return explained
    if redis_errors is not None:
        if isinstance(exc, redis_errors.AuthenticationError | redis_errors.AuthenticationWrongNumberOfArgsError):
            return Explanation(f"{where}authentication failed: {exc}", FAILURE)
        if isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError):
            return Explanation(f"cannot reach {target or 'redis'}: {exc}", FAILURE)
    if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError) or (
        isinstance(exc, OSError) and exc.errno in UNREACHABLE
    ):
        return Explanation(f"cannot reach {target or 'the server'}: {_reason(exc)}", FAILURE)
    if isinstance(exc, OSError) and exc.filename is not None:
        return Explanation(f"{exc.filename}: {exc.strerror or exc}", FAILURE)
    return None


def _asyncpg_error(asyncpg: Any, exc: BaseException, where: str) -> Explanation | None:
    if isinstance(exc, asyncpg.ClientConfigurationError):  # a DSN asyncpg cannot parse
        return Explanation(f"{where}{exc}", USAGE)
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):  # wrong password, unknown role
        return Explanation(f"{where}{exc}: check the user and password", FAILURE)
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):  # a login without the rights the command needs
        return Explanation(f"{where}{exc}: connect as a role that may (the owner or an admin)", FAILURE)
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return Explanation(f"{where}{exc}: create it or name another database", FAILURE)
    if isinstance(
        exc, asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError
    ):
        return Explanation(f"{where}the server refused the connection: {exc}", FAILURE)
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out connecting"
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno > 0:
        return os.strerror(exc.errno)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _invalid_setting(model: str, error: Any) -> str:
    """`HARNESS_BACKEND=xyz: input should be …`: the variable a user set, and what it must be."""
    from harness.config import Settings  # cycle: harness.config (via harness.project)
    from harness.provision.endpoints import redact  # cycle: harness.provision (its __init__)

    location = ".".join(str(part) for part in error["loc"])
    if model == Settings.__name__:
        location = _variable(location)
    value = error.get("input")
    shown = redact(value) if isinstance(value, str) and "://" in value else value
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{location}={shown}: {message[:1].lower()}{message[1:]}"


def _variable(location: str) -> str:
    """The environment variable behind a Settings error's location: HARNESS_<FIELD>, or the alias
    the user set (pydantic names the first of several choices)."""
    from harness.config import Settings  # cycle: harness.config, harness.project
    from harness.project import environment_names

    for name, field in Settings.model_fields.items():
        names = environment_names(name, field)
        if location == name or location in names:
            return next((n for n in names if n in os.environ), names[0])
    return location
