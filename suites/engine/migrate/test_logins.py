"""Development logins: set where they are missing or wrong, left alone where they are right (a
server from a template snapshot already has them), and proved by logging in."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from harness.errors import ConfigurationError
from harness.migrate.logins import apply_logins, scram_verifier, verifier_matches
from harness.provision import Endpoints
from harness.provision.databases import quote_identifier
from harness.provision.endpoints import with_credentials


@pytest.fixture
async def admin(endpoints: Endpoints) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(endpoints.postgres)
    yield conn
    await conn.close()


@pytest.fixture
async def role(admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A role of the test's own (roles are the whole server's), without LOGIN."""
    name = f"login_test_{secrets.token_hex(4)}"
    await admin.execute(f"CREATE ROLE {quote_identifier(name)} NOLOGIN")
    yield name
    await admin.execute(f"DROP ROLE IF EXISTS {quote_identifier(name)}")


async def stored(admin: asyncpg.Connection, role: str) -> asyncpg.Record:
    row = await admin.fetchrow("SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = $1", role)
    assert row is not None
    return row


async def logs_in(endpoints: Endpoints, role: str, password: str) -> bool:
    try:
        conn = await asyncpg.connect(with_credentials(endpoints.postgres, role, password))
    except asyncpg.InvalidPasswordError:
        return False
    await conn.close()
    return True


async def test_a_role_gets_login_and_its_password_and_logs_in_with_it(
    admin: asyncpg.Connection, endpoints: Endpoints, role: str
) -> None:
    await apply_logins(admin, {role: "first-password"})
    row = await stored(admin, role)
    assert row["rolcanlogin"]
    assert verifier_matches(row["rolpassword"], "first-password")
    assert await logs_in(endpoints, role, "first-password")


async def test_a_login_already_right_is_left_as_it_is(admin: asyncpg.Connection, role: str) -> None:
    await apply_logins(admin, {role: "kept"})
    before = (await stored(admin, role))["rolpassword"]
    await apply_logins(admin, {role: "kept"})
    assert (await stored(admin, role))["rolpassword"] == before  # a new verifier would have a new salt


async def test_a_changed_password_or_a_lost_login_is_set_again(
    admin: asyncpg.Connection, endpoints: Endpoints, role: str
) -> None:
    await apply_logins(admin, {role: "old"})
    await apply_logins(admin, {role: "new"})
    assert await logs_in(endpoints, role, "new")
    assert not await logs_in(endpoints, role, "old")
    await admin.execute(f"ALTER ROLE {quote_identifier(role)} NOLOGIN")
    await apply_logins(admin, {role: "new"})
    assert (await stored(admin, role))["rolcanlogin"]


async def test_a_role_the_migrations_did_not_create_is_named(admin: asyncpg.Connection) -> None:
    missing = f"login_test_missing_{secrets.token_hex(4)}"
    with pytest.raises(ConfigurationError, match=f"role '{missing}' does not exist after the migrations"):
        await apply_logins(admin, {missing: "x"})


@pytest.mark.parametrize(
    "verifier",
    [None, "", "md5" + "0" * 32, "SCRAM-SHA-256$4096:bm90IGJhc2U2NA$x:y", "SCRAM-SHA-256$many:c2FsdA==$a:b", "$$"],
)
def test_what_is_not_a_scram_verifier_of_the_password_never_matches(verifier: str | None) -> None:
    assert not verifier_matches(verifier, "password")


def test_a_verifier_matches_its_password_only() -> None:
    verifier = scram_verifier("password", iterations=16)
    assert verifier_matches(verifier, "password")
    assert not verifier_matches(verifier, "Password")
    assert not verifier_matches(verifier.replace("SCRAM-SHA-256", "SCRAM-SHA-1"), "password")
