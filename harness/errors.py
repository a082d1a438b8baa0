"""The harness's errors: one base, a subclass per failure a caller can act on."""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigurationError(HarnessError):
    """A setting, option or environment variable is missing or invalid."""


class ProvisionError(HarnessError):
    """A server could not be started, reached or stopped."""


class MigrationError(HarnessError):
    """Base of the migration runner's errors."""


class MigrationFileError(MigrationError):
    """A migration file is missing, misnamed or duplicated."""


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
