"""The domain's commands, added to `harness` by the plug-in: `harness seed` and `harness
hash-password`, thin layers over the seed generators, through the engine's error boundary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from betterprompts_db.settings import BetterPromptsSettings
from harness.cli import Dsn, dsn_or_environment, err, out, run
from harness.config import Settings
from harness.plugins import plugin_settings


def seed(
    profile: Annotated[str, typer.Option(help="minimal | demo | load | large (seeds/profiles.toml)")] = "minimal",
    scale: Annotated[float, typer.Option(help="multiply the profile's counts (0 < scale <= 100)")] = 1.0,
    clean: Annotated[bool, typer.Option(help="empty the BetterPrompts tables first")] = False,
    dsn: Dsn = None,
    seeds: Annotated[Path, typer.Option("--seeds", help="seeds directory")] = Path("seeds"),
) -> None:
    """Load a seed profile; rows already present (by stable id) are skipped. Progress goes to stderr."""
    from betterprompts_db.seed import seed as load_seed  # start-up: numpy, bcrypt

    def progress(line: str) -> None:
        err.print(f"[dim]seed:[/dim] {escape(line)}", highlight=False, soft_wrap=True)

    target = dsn_or_environment(dsn)
    cost = plugin_settings(Settings(), BetterPromptsSettings).bcrypt_cost
    report = run(
        load_seed(target, profile, scale=scale, clean=clean, seeds_dir=seeds, bcrypt_cost=cost, progress=progress)
    )
    table = Table("table", "rows in profile", "inserted", "seconds")
    for name, expected in report.expected.items():
        load = report.tables[name]
        table.add_row(name, str(expected), str(load.inserted), f"{load.seconds:.2f}")
    out.print(table)
    out.print(
        f"{report.profile} x{report.scale:g}: {report.rows_inserted} rows inserted in "
        f"{report.generate_seconds + report.load_seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)"
    )


def hash_password(
    password: Annotated[str | None, typer.Argument(help="prompted for (hidden) when omitted")] = None,
    cost: Annotated[int | None, typer.Option(help="bcrypt cost (default: setting betterprompts.bcrypt_cost)")] = None,
) -> None:
    """Print the bcrypt hash of a password, as auth.users.password_hash stores it."""
    from betterprompts_db.seed import hash_password as bcrypt_hash  # start-up: numpy, bcrypt

    secret = password if password is not None else typer.prompt("Password", hide_input=True)
    cost = cost if cost is not None else plugin_settings(Settings(), BetterPromptsSettings).bcrypt_cost
    out.print(bcrypt_hash(secret, cost), highlight=False)
