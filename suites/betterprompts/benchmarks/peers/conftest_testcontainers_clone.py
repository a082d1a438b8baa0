"""testcontainers, one container per session, a database cloned from the schema's per test."""

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from testcontainers.community.postgres import PostgresContainer

from suites.betterprompts.benchmarks.peers._container import database_url, schema_container


@pytest.fixture(scope="session")
def container() -> Iterator[PostgresContainer]:
    with schema_container() as started:
        yield started


@pytest.fixture
def db(container: PostgresContainer) -> Iterator[psycopg.Connection]:
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(database_url(container, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE bp").format(sql.Identifier(name)))
        with psycopg.connect(database_url(container, name), autocommit=True) as conn:
            yield conn
        admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
