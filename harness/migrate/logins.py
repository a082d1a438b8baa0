"""Development logins of a schema's roles (`schema/postgres/logins.toml`: role → password).

The migrations create the roles; the passwords are a development artifact, set on each server the
harness prepares, so tests and load runs log in as the roles the application uses instead of a
superuser that switches role (one `RESET ROLE` away from everything)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import tomllib
from pathlib import Path

import asyncpg

from harness.errors import ConfigurationError
from harness.provision.endpoints import with_credentials


def load_logins(path: Path) -> dict[str, str]:
    """Role → development password; an absent file means no logins (a schema without roles)."""
    if not path.is_file():
        return {}
    try:
        tables = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc}); fix the file") from None
    logins = {}
    for role, table in tables.items():
        password = table.get("password") if isinstance(table, dict) else None
        if not isinstance(password, str) or not password:
            raise ConfigurationError(f'{path}: [{role}] needs password = "…" (a non-empty string)')
        logins[role] = password
    return logins


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores (RFC 5802/7677), made here so the password
    itself never reaches the server, its logs or pg_stat_statements."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server = hmac.digest(salted, b"Server Key", "sha256")
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored).decode()}:{b64(server).decode()}"


async def apply_logins(admin_dsn: str, logins: dict[str, str]) -> None:
    """Give each role LOGIN and its password, on the whole server (roles are not per database).
    A role the migrations did not create is a mistake in the file, named as such."""
    if not logins:
        return
    conn = await asyncpg.connect(admin_dsn)
    try:
        for role, password in logins.items():
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                raise ConfigurationError(f"logins: role {role!r} does not exist after the migrations; "
                                         "remove it from the logins file or create it in a migration")  # fmt: skip
            # ALTER ROLE takes no parameters: the server quotes the name and the verifier
            statement = await conn.fetchval("SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text)",
                                            role, scram_verifier(password))  # fmt: skip
            await conn.execute(statement)
    finally:
        await conn.close()


def dsn_as(dsn: str, role: str, logins: dict[str, str]) -> str:
    """`dsn` (same server and database) logged in as `role` with its development password."""
    if role not in logins:
        known = ", ".join(sorted(logins)) or "none"
        raise ConfigurationError(f"no development login for role {role!r} (known: {known}); add it to the logins file")
    return with_credentials(dsn, role, logins[role])
