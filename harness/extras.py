"""The engine's optional parts: a command that needs one names the extra of harness-db that
installs it, in one line, instead of failing with a traceback from an import."""

from __future__ import annotations

from harness.errors import ConfigurationError

DISTRIBUTION = "harness-db"


def missing_extra(extra: str, needed_by: str, module: str | None) -> ConfigurationError:
    """The error for `needed_by` (a command, or what it does) finding `module` of `extra` missing."""
    return ConfigurationError(
        f"{needed_by} needs the {extra} extra ({module or 'a module of it'} is not installed): "
        f"pip install '{DISTRIBUTION}[{extra}]'"
    )
