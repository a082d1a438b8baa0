"""pytest-postgresql 10: its own server from the same binaries (PEERS_PG_CTL) and settings, the
schema loaded once into its template database, a database cloned from it per test."""

import os
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories

from suites.betterprompts.benchmarks.peers.schema import up_files

postgresql_proc = factories.postgresql_proc(
    executable=os.environ["PEERS_PG_CTL"],
    postgres_options=os.environ["PEERS_PG_OPTIONS"],
    load=[Path(p) for p in up_files()],
)
postgresql = factories.postgresql("postgresql_proc")


@pytest.fixture
def db(postgresql: psycopg.Connection) -> psycopg.Connection:
    postgresql.autocommit = True
    return postgresql
