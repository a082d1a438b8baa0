"""The one seam through which a domain enters the engine: a `Plugin` registered under the entry
point group `harness.plugins` (pytest-postgresql's `load` callable, pgtestdb's `Migrator`).

The engine serves one domain at a time and never imports it: it finds the plug-in here, by its
entry point. Without one it still migrates, clones, provisions and mutates the artifacts; it has
no seed profiles, no domain commands and no hand-written mutants.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigurationError

if TYPE_CHECKING:  # kept out of start-up: the CLI loads the plug-in before any command runs
    import typer

    from harness.config import Settings
    from harness.isolation.recipe import Seed
    from harness.mutate.runner import Mutant

ENTRY_POINT_GROUP = "harness.plugins"


@dataclass(frozen=True)
class Plugin:
    """What a domain adds to the engine; every part is optional.

    - `seed(profile, seeds_dir)`: the seed of a template (`template_seed`) or of `harness up`'s
      database (`up_seed`), hashed into the template's name.
    - `commands(app)`: adds the domain's commands to the `harness` command line.
    - `mutants`: hand-written mutants of the domain's files, for `harness mutate --hand`.
    - `sql_equivalents`, `python_equivalents`: the generated and the Python mutants no test can
      tell from the original, each with its reason (`harness mutate --sql/--redis`, `--python`).
    - `redis_password(settings, user)`: the development password of a Redis ACL user, which the
      harness administers the servers it starts as when the shipped ACL is in force.
    """

    name: str
    seed: Callable[[str, Path], Seed] | None = None
    commands: Callable[[typer.Typer], None] | None = None
    mutants: Sequence[Mutant] = ()
    sql_equivalents: Path | None = None
    python_equivalents: Path | None = None
    redis_password: Callable[[Settings, str], str] | None = None


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
        return plugin.seed(profile, settings.seeds_dir)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f'{setting} = {profile!r} (the {plugin.name} plug-in\'s seed; "" for none): {exc}'
        ) from exc
