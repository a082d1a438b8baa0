"""Databases are made and dropped by one helper (harness.provision.databases) whatever their names
hold: DDL takes no parameters, so a name that is not quoted would become SQL."""

from __future__ import annotations

import secrets

import asyncpg
import pytest

from harness.isolation import RunState
from harness.provision.databases import create_database, drop_database, quote_identifier


async def test_a_name_holding_quotes_and_a_statement_is_one_database_copied_from_its_template(
    harness_run: RunState,
) -> None:
    name = f'hx_odd "{secrets.token_hex(3)}"; DROP DATABASE postgres; --'
    admin = await asyncpg.connect(harness_run.endpoints.postgres)
    try:
        await create_database(admin, name, harness_run.template, "FILE_COPY")
        try:
            found = await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = ANY($1)", [name, "postgres"])
            assert found == 2  # the odd name itself, and postgres untouched
            copy = await asyncpg.connect(harness_run.endpoints.postgres_dsn(name))
            try:  # a copy of the template: the migrations' version table came with it
                assert await copy.fetchval("SELECT count(*) FROM harness.schema_migrations") > 0
            finally:
                await copy.close()
        finally:
            await drop_database(admin, name)
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name) == 0
    finally:
        await admin.close()


async def test_a_drop_without_force_is_refused_while_the_database_is_in_use(harness_run: RunState) -> None:
    name = f"hx_busy_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(harness_run.endpoints.postgres)
    try:
        await create_database(admin, name)
        user = await asyncpg.connect(harness_run.endpoints.postgres_dsn(name))
        try:
            with pytest.raises(asyncpg.ObjectInUseError):
                await drop_database(admin, name, force=False)
        finally:
            await user.close()
        await drop_database(admin, name, force=False)  # nothing uses it now
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name) == 0
    finally:
        await drop_database(admin, name)
        await admin.close()


@pytest.mark.parametrize("name", ["", "a\0b"])
def test_a_name_no_identifier_can_hold_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not an identifier"):
        quote_identifier(name)
