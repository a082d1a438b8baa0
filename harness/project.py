"""The project file: the nearest `pyproject.toml`, whose `[tool.harness]` table configures the
harness for a repository, and whose directory every relative path in Settings resolves against.

The table is checked here, key by key, so a mistake in it is reported as the file's (its path, the
key, the value), not as an environment variable's: an unknown key is an error, never ignored.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Any, cast

from pydantic import AliasChoices, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from harness.errors import ConfigurationError

FILE_NAME = "pyproject.toml"
TABLE = ("tool", "harness")
KEYS_DOC = 'valid keys: `harness settings --markdown` lists them (README, "Settings")'


def find_project_file(start: Path) -> Path | None:
    """The nearest pyproject.toml in `start` or above it, or None."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def read_table(path: Path) -> dict[str, Any]:
    """The file's [tool.harness] table ({} when it has none)."""
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigurationError(f"{path}: {exc.strerror or exc}") from None
    table: Any = document
    for key in TABLE:
        table = table.get(key, {}) if isinstance(table, dict) else {}
    if not isinstance(table, dict):
        raise ConfigurationError(f"{path}: [tool.harness] must be a table")
    return table


def environment_names(name: str, field: FieldInfo) -> tuple[str, ...]:
    """The environment variables a setting is read from, the first one set winning:
    `HARNESS_<NAME>`, or its aliases (the external backend's, which only the environment holds)."""
    alias = field.validation_alias
    if alias is None:
        return (f"HARNESS_{name.upper()}",)
    if isinstance(alias, AliasChoices):
        return tuple(choice for choice in alias.choices if isinstance(choice, str))
    return (str(alias),)


def environment_variable_set(name: str, field: FieldInfo, present: Collection[str]) -> str | None:
    """The variable the setting is read from among `present` (upper-cased names, as pydantic-settings
    matches them case-insensitively): the first of its names that is set, or None."""
    return next((v for v in environment_names(name, field) if v.upper() in present), None)


def plugin_tables(table: Mapping[str, Any], fields: Mapping[str, FieldInfo]) -> dict[str, dict[str, Any]]:
    """The sub-tables of [tool.harness] that are no setting of the engine: the plug-ins', each
    `[tool.harness.<plug-in>]`, checked when the plug-in's settings are read (harness.plugins)."""
    return {key: value for key, value in table.items() if isinstance(value, dict) and key not in fields}


def check_table(
    path: Path, table: Mapping[str, Any], fields: Mapping[str, FieldInfo], name: str = "tool.harness"
) -> None:
    """Every key of table [`name`] is a setting the file may hold, of the setting's type and bounds.
    Settings with an alias (the external backend's URLs, hosts and passwords) come from the
    environment only."""
    for key, value in table.items():
        field = fields.get(key)
        if field is not None and field.validation_alias is not None:
            names = " or ".join(environment_names(key, field))
            raise ConfigurationError(
                f"{path}: [{name}] cannot hold {key!r}: it is read from the environment only ({names})"
            )
        if field is None:
            raise ConfigurationError(f"{path}: [{name}] has no setting {key!r}{_hint(key, fields)}; {KEYS_DOC}")
        if problem := value_problem(field, value):
            raise ConfigurationError(f"{path}: [{name}] {key} = {value!r}: {problem}")


def value_problem(field: FieldInfo, value: object) -> str | None:
    """Why `value` is not one of the setting's type and bounds, in a line, or None."""
    try:
        TypeAdapter(cast(Any, Annotated[field.annotation, field])).validate_python(value)
    except ValidationError as exc:
        message = "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
        return message[:1].lower() + message[1:]
    return None


def _hint(key: str, fields: Mapping[str, FieldInfo]) -> str:
    """A near miss among the keys the file may hold, if there is one."""
    close = difflib.get_close_matches(key, [name for name, f in fields.items() if f.validation_alias is None], 1)
    return f" (did you mean {close[0]!r}?)" if close else ""
