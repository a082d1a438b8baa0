"""The testcontainers peers' server: the local image (PEERS_IMAGE), the same settings, its data
directory on tmpfs, the schema applied once into database `bp`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import make_conninfo
from testcontainers.community.postgres import PostgresContainer

from suites.betterprompts.benchmarks.peers.schema import apply_up_files

DATA = "/var/lib/postgresql/data"


@contextmanager
def schema_container() -> Iterator[PostgresContainer]:
    container = (
        PostgresContainer(os.environ["PEERS_IMAGE"], username="postgres", password="peers", dbname="bp", driver=None)
        .with_env("PGDATA", DATA)
        .with_tmpfs_mount(DATA)
        .with_command(["postgres", *os.environ["PEERS_PG_OPTIONS"].split()])
    )
    with container:
        with psycopg.connect(container.get_connection_url(), autocommit=True) as conn:
            apply_up_files(conn)
        yield container


def database_url(container: PostgresContainer, dbname: str) -> str:
    return make_conninfo(container.get_connection_url(), dbname=dbname)
