"""CREATE DATABASE and the migrations per test, on harness's own server: what a suite without a
template does."""

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from harness.provision import Endpoints
from suites.betterprompts.benchmarks.peers.schema import apply_up_files


@pytest.fixture
def db(endpoints: Endpoints) -> Iterator[psycopg.Connection]:
    name = f"peer_{secrets.token_hex(6)}"
    with psycopg.connect(endpoints.postgres, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with psycopg.connect(endpoints.postgres_dsn(name), autocommit=True) as conn:
            apply_up_files(conn)
            yield conn
        admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
