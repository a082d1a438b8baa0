"""Fixtures of the seed suites: the seeds directory and a second database to compare against."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import Settings
from harness.isolation import ClonePool
from harness.provision import Endpoints
from harness.pytest_plugin import Database


@pytest.fixture
def seeds_dir(harness_settings: Settings) -> Path:
    return harness_settings.seeds_dir


@pytest.fixture
def another_database(clone_pool: ClonePool, endpoints: Endpoints) -> Iterator[Database]:
    """A second fresh clone of the template, beside `fresh_database`."""
    name = clone_pool.take()
    yield Database(name, endpoints.postgres_dsn(name))
    clone_pool.release(name)
