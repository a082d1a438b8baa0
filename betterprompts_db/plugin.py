"""BetterPrompts as the engine's plug-in (entry point group `harness.plugins`): its seed
profiles, its commands, its mutant catalogue and equivalents, its Redis users' passwords.
Light on purpose: the `harness` command loads it before any command runs."""

from __future__ import annotations

from pathlib import Path

import typer

from betterprompts_db.mutants import MUTANTS
from betterprompts_db.recipe import seed_profile
from betterprompts_db.redis_users import redis_password
from harness.plugins import Plugin

HERE = Path(__file__).parent


def add_commands(app: typer.Typer) -> None:
    """`harness seed` and `harness hash-password`."""
    from betterprompts_db.cli import hash_password, seed

    app.command()(seed)
    app.command("hash-password")(hash_password)


plugin = Plugin(
    name="betterprompts",
    seed=seed_profile,
    commands=add_commands,
    mutants=MUTANTS,
    sql_equivalents=HERE / "equivalents.toml",
    python_equivalents=HERE / "equivalents-python.toml",
    redis_password=redis_password,
)
