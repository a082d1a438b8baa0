"""The shipped history of migrations: every down reverses its up, and squawk finds nothing."""

from __future__ import annotations

from harness import migrate
from harness.config import Settings
from harness.provision import Endpoints


async def test_every_shipped_down_exactly_reverses_its_up(endpoints: Endpoints, harness_settings: Settings) -> None:
    migrations = migrate.load_migrations(harness_settings.migrations_dir)
    assert len(migrations) >= 7
    report = await migrate.verify_migrations(endpoints.postgres, migrations)
    assert report[-1] == "full down: no object left behind"


def test_the_shipped_migrations_are_squawk_clean(harness_settings: Settings) -> None:
    assert migrate.lint_migrations(migrate.load_migrations(harness_settings.migrations_dir)) == []
