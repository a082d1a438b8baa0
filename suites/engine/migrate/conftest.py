"""Small migration histories of the tests' own, written into a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from suites.engine.migrate.histories import WriteMigrations


@pytest.fixture
def write_migrations(tmp_path: Path) -> WriteMigrations:
    def write(files: dict[str, tuple[str, str]]) -> Path:
        directory = tmp_path / "migrations"
        directory.mkdir(exist_ok=True)
        for label, (up, down) in files.items():
            (directory / f"{label}.up.sql").write_text(up)
            (directory / f"{label}.down.sql").write_text(down)
        return directory

    return write
