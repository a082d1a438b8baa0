"""testcontainers, one container per session, every table truncated after each test."""

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from testcontainers.community.postgres import PostgresContainer

from suites.betterprompts.benchmarks.peers._container import schema_container
from suites.betterprompts.benchmarks.peers.schema import truncate_all


@pytest.fixture(scope="session")
def container() -> Iterator[PostgresContainer]:
    with schema_container() as started:
        yield started


@pytest.fixture(scope="session")
def session_conn(container: PostgresContainer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(container.get_connection_url(), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def truncate(session_conn: psycopg.Connection) -> sql.Composed:
    return truncate_all(session_conn)


@pytest.fixture
def db(session_conn: psycopg.Connection, truncate: sql.Composed) -> Iterator[psycopg.Connection]:
    yield session_conn
    session_conn.execute(truncate)
