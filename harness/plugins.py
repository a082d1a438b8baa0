"""The one seam through which a domain enters the engine: a `Plugin` registered under the entry
point group `harness.plugins` (pytest-postgresql's `load` callable, pgtestdb's `Migrator`).

The engine serves one domain at a time and never imports it: it finds the plug-in here, by its
entry point. Without one it still migrates, clones, provisions and mutates the artifacts; it has
no seed profiles, no domain commands, no hand-written mutants and no settings but its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.config import Settings
from harness.errors import ConfigurationError
from harness.project import check_table, environment_variable_set, plugin_tables, read_table, value_problem

if TYPE_CHECKING:  # kept out of start-up: the CLI loads the plug-in before any command runs
    import typer

    from harness.isolation.recipe import Seed
    from harness.mutate.runner import Mutant

ENTRY_POINT_GROUP = "harness.plugins"
SettingsModel = TypeVar("SettingsModel", bound=BaseModel)


@dataclass(frozen=True)
class Plugin:
    """What a domain adds to the engine; every part is optional.

    - `seed(settings, profile)`: the seed of a template (`template_seed`) or of `harness up`'s
      database (`up_seed`), hashed into the template's name; `settings` are those in force (its
      `seeds_dir`, the plug-in's own through `plugin_settings`).
    - `commands(app)`: adds the domain's commands to the `harness` command line.
    - `mutants`: hand-written mutants of the domain's files, for `harness mutate --hand`.
    - `sql_equivalents`, `python_equivalents`: the generated and the Python mutants no test can
      tell from the original, each with its reason (`harness mutate --sql/--redis`, `--python`).
    - `redis_password(settings, user)`: the development password of a Redis ACL user, which the
      harness administers the servers it starts as when the shipped ACL is in force.
    - `settings`: the pydantic model of the domain's own settings, read as strictly as the engine's:
      defaults, then `[tool.harness.<name>]` in the project file, then `HARNESS_<FIELD>` (or the
      field's alias) in the environment. `harness settings` lists them as `<name>.<field>`.
    """

    name: str
    seed: Callable[[Settings, str], Seed] | None = None
    commands: Callable[[typer.Typer], None] | None = None
    mutants: Sequence[Mutant] = ()
    sql_equivalents: Path | None = None
    python_equivalents: Path | None = None
    redis_password: Callable[[Settings, str], str] | None = None
    settings: type[BaseModel] | None = None


@cache
def load_plugin(name: str) -> Plugin | None:
    """The plug-in named `name` (Settings.plugin: its entry point's name), or, for "", the only
    one installed (None when there is none). Several installed and none named is an error: the
    engine serves one domain at a time and must not pick one by install order."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    listed = ", ".join(f"{ep.name} ({ep.value})" for ep in found) or "none"
    if name:
        chosen = [ep for ep in found if ep.name == name]
        if not chosen:
            raise ConfigurationError(
                f"plug-in {name!r} (the plugin setting) is not installed in entry point group "
                f"{ENTRY_POINT_GROUP}; installed: {listed}"
            )
    elif len(found) > 1:
        raise ConfigurationError(
            f"several plug-ins installed in entry point group {ENTRY_POINT_GROUP}: {listed}; choose one with "
            'plugin = "NAME" in pyproject.toml [tool.harness] or HARNESS_PLUGIN=NAME'
        )
    else:
        chosen = found
    if not chosen:
        return None
    plugin = chosen[0].load()
    if not isinstance(plugin, Plugin):
        raise ConfigurationError(f"entry point {chosen[0].value} ({ENTRY_POINT_GROUP}) is not a harness Plugin")
    return plugin


def seed_of(settings: Settings, profile: str, setting: str) -> Seed:
    """The chosen plug-in's seed for `profile` of `settings.seeds_dir`, which `setting` asked for;
    asking for one without a plug-in that seeds is an error, and a seed that cannot be read is one
    that names the setting and the plug-in (a project using only the engine sets it to "")."""
    plugin = load_plugin(settings.plugin)
    if plugin is None or plugin.seed is None:
        raise ConfigurationError(
            f"{setting} = {profile!r} asks for a seed, but no installed plug-in ({ENTRY_POINT_GROUP}) provides "
            f'seeds: set {setting} = "" for migrations only'
        )
    try:
        return plugin.seed(settings, profile)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f'{setting} = {profile!r} (the {plugin.name} plug-in\'s seed; "" for none): {exc}'
        ) from exc


def read_plugin_settings(settings: Settings, environ: Mapping[str, str] = os.environ) -> BaseModel | None:
    """The chosen plug-in's settings in force (None when it has no settings model), each field from
    its default, then the project file's `[tool.harness.<name>]`, then the environment. Errors name
    the file and key or the variable; a sub-table no plug-in in force reads is one, as an unknown
    key of [tool.harness] is."""
    plugin = load_plugin(settings.plugin)
    model = plugin.settings if plugin is not None else None
    path = settings.project_file
    tables = plugin_tables(read_table(path), Settings.model_fields) if path is not None else {}
    expected = plugin.name if plugin is not None and model is not None else None
    for name in tables:
        if name != expected:
            reads = f"the {expected} plug-in's is [tool.harness.{expected}]" if expected else "the plug-in has none"
            raise ConfigurationError(f"{path}: [tool.harness.{name}] is no plug-in's settings table: {reads}")
    if plugin is None or model is None:
        return None
    if clash := sorted(model.model_fields.keys() & Settings.model_fields.keys()):
        raise ConfigurationError(f"the {plugin.name} plug-in's settings {clash} are also the engine's")
    values: dict[str, Any] = {}
    if path is not None and plugin.name in tables:
        values.update(tables[plugin.name])
        check_table(path, values, model.model_fields, f"tool.harness.{plugin.name}")
    present = {key.upper(): value for key, value in environ.items()}
    for key, field in model.model_fields.items():
        if (variable := environment_variable_set(key, field, present)) is not None:
            value = present[variable.upper()]
            if problem := value_problem(field, value):
                raise ConfigurationError(f"{variable}={value!r}: {problem}")
            values[key] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError(f"the {plugin.name} plug-in's settings: {exc.errors()[0]['msg']}") from None


def plugin_settings(settings: Settings, model: type[SettingsModel]) -> SettingsModel:
    """The plug-in's own accessor: its settings in force, as its `model`."""
    found = read_plugin_settings(settings)
    if not isinstance(found, model):
        chosen = settings.plugin or "the only one installed"
        raise ConfigurationError(f"the plug-in in force ({chosen}) has no settings model {model.__name__}")
    return found
