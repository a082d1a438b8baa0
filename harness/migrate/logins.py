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


SCRAM = "SCRAM-SHA-256"
# a role's login, and its stored verifier when the admin may read pg_authid (a superuser)
ROLES_WITH_VERIFIERS = "SELECT rolname, rolcanlogin, rolpassword FROM pg_authid WHERE rolname = ANY($1::text[])"
ROLES = "SELECT rolname, rolcanlogin, NULL AS rolpassword FROM pg_roles WHERE rolname = ANY($1::text[])"


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """SCRAM-SHA-256's StoredKey and ServerKey of `password` (RFC 5802/7677)."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client = hmac.digest(salted, b"Client Key", "sha256")
    return hashlib.sha256(client).digest(), hmac.digest(salted, b"Server Key", "sha256")


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores, made here so the password itself never
    reaches the server, its logs or pg_stat_statements."""
    salt = os.urandom(16)
    stored, server = _keys(password, salt, iterations)
    b64 = base64.b64encode
    return f"{SCRAM}${iterations}:{b64(salt).decode()}${b64(stored).decode()}:{b64(server).decode()}"


def verifier_matches(verifier: str | None, password: str) -> bool:
    """Whether `verifier` (pg_authid.rolpassword) is a SCRAM-SHA-256 verifier of `password`."""
    try:
        method, head, keys = (verifier or "").split("$")
        iterations, salt = head.split(":")
        stored, server = (base64.b64decode(key, validate=True) for key in keys.split(":"))
        ours = _keys(password, base64.b64decode(salt, validate=True), int(iterations))
    except ValueError:  # not a SCRAM verifier (none, md5), or a malformed one (binascii.Error is one)
        return False
    return method == SCRAM and hmac.compare_digest(ours[0], stored) and hmac.compare_digest(ours[1], server)


async def apply_logins(admin: asyncpg.Connection, logins: dict[str, str]) -> None:
    """Give each role LOGIN and its password, on the whole server (roles are not per database). A
    role that logs in with its password already (a server from a template snapshot) is left as it
    is. A role the migrations did not create is a mistake in the file, named as such."""
    if not logins:
        return
    try:
        rows = await admin.fetch(ROLES_WITH_VERIFIERS, list(logins))
    except asyncpg.InsufficientPrivilegeError:  # no superuser: every password is set
        rows = await admin.fetch(ROLES, list(logins))
    found = {row["rolname"]: row for row in rows}
    for role, password in logins.items():
        row = found.get(role)
        if row is None:
            raise ConfigurationError(f"logins: role {role!r} does not exist after the migrations; "
                                     "remove it from the logins file or create it in a migration")  # fmt: skip
        if row["rolcanlogin"] and verifier_matches(row["rolpassword"], password):
            continue
        # ALTER ROLE takes no parameters: the server quotes the name and the verifier
        statement = await admin.fetchval("SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text)",
                                         role, scram_verifier(password))  # fmt: skip
        await admin.execute(statement)


def dsn_as(dsn: str, role: str, logins: dict[str, str]) -> str:
    """`dsn` (same server and database) logged in as `role` with its development password."""
    if role not in logins:
        known = ", ".join(sorted(logins)) or "none"
        raise ConfigurationError(f"no development login for role {role!r} (known: {known}); add it to the logins file")
    return with_credentials(dsn, role, logins[role])
