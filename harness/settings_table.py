"""`harness settings`: every setting as documented (the README's table, made from the fields'
descriptions, so the documentation has no home but the model) and as in force for this project
(each value and where it came from, secrets hidden: what a user debugging their configuration needs)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic.fields import FieldInfo

from harness.config import Settings
from harness.plugins import Plugin, load_plugin, read_plugin_settings
from harness.project import environment_names, environment_variable_set, read_table
from harness.provision.endpoints import redact
from harness.pytest_options import pytest_setting

HEADER = ("setting (`[tool.harness]` key)", "environment", "pytest", "default", "description")


@dataclass(frozen=True)
class Effective:
    """One setting in force: its value as shown (secrets hidden) and where it came from."""

    name: str
    value: str
    source: str


def in_file(name: str, field: FieldInfo) -> bool:
    """Whether `[tool.harness]` may hold the setting: not the file itself, not the external
    backend's connections (the environment only, so no password lands in a committed file)."""
    return name != "project_file" and field.validation_alias is None


def effective_settings(settings: Settings, environ: Mapping[str, str] = os.environ) -> list[Effective]:
    """Each setting's value in `settings` and its source: the environment variable that set it,
    the project file's [tool.harness], or the default (precedence as the model applies it); then
    the plug-in's, each named `<plug-in>.<field>` (its key in [tool.harness])."""
    table = read_table(settings.project_file) if settings.project_file is not None else {}
    present = {name.upper() for name in environ}  # pydantic-settings reads names case-insensitively
    rows = []
    for name, field in Settings.model_fields.items():
        variable = environment_variable_set(name, field, present)
        if variable is not None:
            source = f"environment {variable}"
        elif name in table:
            source = "[tool.harness]"
        elif name == "project_file" and settings.project_file is not None:
            source = "the nearest pyproject.toml"
        else:
            source = "default"
        rows.append(Effective(name, shown(getattr(settings, name), secret=not field.repr), source))
    plugin, own = load_plugin(settings.plugin), read_plugin_settings(settings, environ)
    if plugin is not None and own is not None:
        sub_table = table.get(plugin.name, {})
        for name, field in type(own).model_fields.items():
            variable = environment_variable_set(name, field, present)
            source = f"environment {variable}" if variable else "default"
            if variable is None and name in sub_table:
                source = f"[tool.harness.{plugin.name}]"
            rows.append(Effective(f"{plugin.name}.{name}", shown(getattr(own, name), secret=not field.repr), source))
    return rows


def shown(value: object, secret: bool) -> str:
    """A value as a user reads it; a secret's password (or the secret itself) as ***."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    if secret and text:
        return redact(text) if "://" in text else "***"
    return text


def settings_markdown(plugin: Plugin | None = None) -> str:
    """The README's settings table: each setting, where it may be set, its default and its
    description; then the plug-in's, each as its key in [tool.harness], `<plug-in>.<field>`."""
    lines = [row(HEADER), row(tuple("---" for _ in HEADER))]
    for name, field in Settings.model_fields.items():
        setting = f"`{name}`" if in_file(name, field) else f"`{name}` (not in the file)"
        variables = ", ".join(f"`{variable}`" for variable in environment_names(name, field))
        lines.append(row((setting, variables, pytest_cell(name), default_cell(field), field.description or "")))
    if plugin is not None and plugin.settings is not None:
        for name, field in plugin.settings.model_fields.items():
            setting = f"`{plugin.name}.{name}` (the {plugin.name} plug-in's)"
            variables = ", ".join(f"`{variable}`" for variable in environment_names(name, field))
            lines.append(row((setting, variables, "", default_cell(field), field.description or "")))
    return "\n".join(lines) + "\n"


def pytest_cell(name: str) -> str:
    setting = pytest_setting(name)
    if setting is None:
        return ""
    ini = f"ini `{setting.ini}`"
    return f"`{setting.option}`, {ini}" if setting.exposure == "option" else ini


def default_cell(field: FieldInfo) -> str:
    """The default as it would be written in [tool.harness]; a computed one is described, not shown."""
    if field.default_factory is not None:
        return "(computed)"
    default = field.default
    if default is None:
        return "(none)"
    return f"`{json.dumps(str(default) if isinstance(default, Path) else default)}`"


def row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
