"""BetterPrompts as the engine's plug-in (entry point group `harness.plugins`): its seed
profiles, its commands, its mutant catalogue and equivalents, its Redis users' passwords, its
settings.
The `harness` command loads it before any command runs, so what a part needs is imported when
that part is used (the migrations and pglast for a seed, pydantic models for the keyspace)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from betterprompts_db.mutants import MUTANTS
from betterprompts_db.settings import BetterPromptsSettings
from harness.errors import ConfigurationError
from harness.plugins import Plugin, plugin_settings

if TYPE_CHECKING:
    import typer

    from betterprompts_db.recipe import SeedProfile
    from harness.config import Settings

HERE = Path(__file__).parent


def seed_profile(settings: Settings, profile: str) -> SeedProfile:
    """The profile of `seeds_dir`, hashed at the bcrypt cost in force, once its file is known to be
    there (the engine names the setting that asked)."""
    from betterprompts_db.recipe import SeedProfile  # start-up: pglast (harness.isolation)

    profiles = settings.seeds_dir / "profiles.toml"
    if not profiles.is_file():
        raise ConfigurationError(f"{profiles.absolute()}: no such file (the BetterPrompts seed profiles)")
    cost = plugin_settings(settings, BetterPromptsSettings).bcrypt_cost
    return SeedProfile(profile, settings.seeds_dir, bcrypt_cost=cost)


def add_commands(app: typer.Typer) -> None:
    """`harness seed` and `harness hash-password`."""
    from betterprompts_db.cli import hash_password, seed  # cycle: harness.cli (its import loads this plug-in)

    app.command()(seed)
    app.command("hash-password")(hash_password)


def redis_password(settings: Settings, user: str) -> str:
    from betterprompts_db.redis_users import keyspace_password  # start-up: the keyspace's pydantic models

    return keyspace_password(settings, user)


plugin = Plugin(
    name="betterprompts",
    seed=seed_profile,
    commands=add_commands,
    mutants=MUTANTS,
    sql_equivalents=HERE / "equivalents.toml",
    python_equivalents=HERE / "equivalents-python.toml",
    redis_password=redis_password,
    settings=BetterPromptsSettings,
)
