"""`python -m loadtests._seeding PROFILE SCALE`: betterprompts_db.seed into HARNESS_DATABASE_URL, in a
process of its own, because the seeder is asyncio and Locust's process belongs to gevent."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from betterprompts_db.seed import seed
from betterprompts_db.settings import BetterPromptsSettings
from harness.config import Settings
from harness.errors import ConfigurationError
from harness.plugins import plugin_settings

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def main(profile: str, scale: str) -> None:
    settings = Settings()
    dsn = settings.external_postgres_dsn()
    if dsn is None:
        raise ConfigurationError("HARNESS_DATABASE_URL is not set")
    cost = plugin_settings(settings, BetterPromptsSettings).bcrypt_cost
    report = asyncio.run(seed(dsn, profile, scale=float(scale), seeds_dir=SEEDS, bcrypt_cost=cost))
    seconds = report.generate_seconds + report.load_seconds
    print(f"seeded profile {report.profile} x{report.scale:g}: {report.rows_inserted} rows in {seconds:.1f} s")


if __name__ == "__main__":
    main(*sys.argv[1:])
