"""harness: a clone of the run's template per test, from the pool made ahead of demand."""

from collections.abc import Iterator

import psycopg
import pytest

from harness.pytest_plugin import Database


@pytest.fixture
def db(fresh_database: Database) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_database.dsn, autocommit=True) as conn:
        yield conn
