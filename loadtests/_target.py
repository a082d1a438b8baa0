"""Where the load goes: the PostgreSQL database and the Redis server, from the harness's settings
(TEST_DATABASE_URL or HARNESS_DATABASE_URL or POSTGRES_*; REDIS_URL or HARNESS_REDIS_URL or REDIS_*),
refused unless they are on this machine, so a stray variable cannot aim a load test at a shared
server.

The database DSN names an admin role, which seeds and samples the data. The requests log in as
the application role, bp_app, as the services do: LOADTEST_APP_DATABASE_URL when set, else the
same database with bp_app's development password from the logins file
(`Settings.postgres_logins`, schema/postgres/logins.toml). Redis is bp_app too, with its
development password from the keyspace contract.

LOADTEST_REPLICA_DATABASE_URL, when set, is a streaming replica of that database (its admin DSN,
as `harness.provision.replica` gives it): the mix's reads log in there as bp_app, as the data
layer routes them, and the run samples the replica's lag on the primary.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict

from betterprompts_db.keyspace import Keyspace, load_keyspace
from harness.config import POSTGRES_SCHEMES, Settings, url_problem
from harness.errors import ConfigurationError
from harness.migrate.logins import dsn_as, load_logins
from harness.provision.endpoints import redact, with_credentials

ROOT = Path(__file__).resolve().parents[1]
APP_ROLE = "bp_app"  # the Postgres role and the Redis ACL user the requests run as
APP_DATABASE_URL = "LOADTEST_APP_DATABASE_URL"
REPLICA_DATABASE_URL = "LOADTEST_REPLICA_DATABASE_URL"


@dataclass(frozen=True)
class Target:
    postgres_dsn: str  # an admin role: seeds the database and samples what the users act on
    app_dsn: str  # the application's login, bp_app: every request of the mix
    redis_url: str  # as bp_app, with its development password from the keyspace contract
    keyspace: Keyspace
    replica_app_dsn: str | None = None  # bp_app on the replica, where the mix's reads go when set

    def __repr__(self) -> str:  # a failed assertion or a log line shows this: never the passwords
        return f"Target({self})"

    def __str__(self) -> str:
        reads = f", reads as {redact(self.replica_app_dsn)}" if self.replica_app_dsn else ""
        return (
            f"postgres {redact(self.postgres_dsn)}, requests as {redact(self.app_dsn)}{reads},"
            f" redis {redact(self.redis_url)}"
        )


def resolve_target(settings: Settings | None = None, environ: Mapping[str, str] = os.environ) -> Target:
    settings = settings or Settings()
    dsn, redis_url = settings.external_postgres_dsn(), settings.external_redis_url()
    if not dsn:
        raise ConfigurationError("no database to load: set TEST_DATABASE_URL (e.g. from `harness up --detach`)")
    if not redis_url:
        raise ConfigurationError("no Redis to load: set REDIS_URL (e.g. from `harness up --detach`)")
    app_dsn = environ.get(APP_DATABASE_URL) or app_login(dsn, ROOT / settings.postgres_logins)
    if problem := url_problem(app_dsn, POSTGRES_SCHEMES):  # a URL, so that logs can redact its password
        raise ConfigurationError(f"{APP_DATABASE_URL}: {problem}")
    replica = environ.get(REPLICA_DATABASE_URL)
    if replica and (problem := url_problem(replica, POSTGRES_SCHEMES)):
        raise ConfigurationError(f"{REPLICA_DATABASE_URL}: {problem}")
    replica_app = app_login(replica, ROOT / settings.postgres_logins) if replica else None
    for variable, url in (("TEST_DATABASE_URL", dsn), (APP_DATABASE_URL, app_dsn), (REPLICA_DATABASE_URL, replica)):
        for host in str(conninfo_to_dict(url).get("host") or "").split(",") if url else []:
            _require_loopback(variable, host)
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        _require_loopback("REDIS_URL", parts.hostname or "")
    keyspace = load_keyspace(ROOT / settings.redis_keyspace)
    password = keyspace.users[APP_ROLE].dev_password
    return Target(dsn, app_dsn, with_credentials(redis_url, APP_ROLE, password), keyspace, replica_app)


def app_login(dsn: str, logins_file: Path) -> str:
    """`dsn`'s database, logged in as bp_app with its development password."""
    logins = load_logins(logins_file)
    if APP_ROLE not in logins:
        raise ConfigurationError(
            f"no password for {APP_ROLE} in {logins_file}: add it there, or set {APP_DATABASE_URL} to its DSN"
        )
    return dsn_as(dsn, APP_ROLE, logins)


def _require_loopback(variable: str, host: str) -> None:
    """A unix socket, or a name whose every address is a loopback one; an empty host means libpq's
    default socket."""
    if not host or host.startswith("/"):
        return
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise ConfigurationError(f"{variable}: cannot resolve host {host!r}: {exc}") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise ConfigurationError(f"{variable}: host {host!r} is not on this machine; load tests only target loopback")
