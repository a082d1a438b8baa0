"""Where the load goes: the PostgreSQL admin DSN and the Redis server, from the harness's settings
(TEST_DATABASE_URL or HARNESS_DATABASE_URL or POSTGRES_*; REDIS_URL or HARNESS_REDIS_URL or REDIS_*),
refused unless they are on this machine, so a stray variable cannot aim a load test at a shared
server."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict

from harness.config import Settings
from harness.errors import ConfigurationError
from harness.keyspace import Keyspace, load_keyspace
from harness.provision.endpoints import redact, with_credentials

ROOT = Path(__file__).resolve().parents[1]
REDIS_APP_USER = "bp_app"


@dataclass(frozen=True)
class Target:
    postgres_dsn: str  # an admin role: seeds, and may SET ROLE bp_app
    redis_url: str  # as bp_app, with its development password from the keyspace contract
    keyspace: Keyspace

    def __str__(self) -> str:
        return f"postgres {redact(self.postgres_dsn)}, redis {redact(self.redis_url)}"


def resolve_target(settings: Settings | None = None) -> Target:
    settings = settings or Settings()
    dsn, redis_url = settings.external_postgres_dsn(), settings.external_redis_url()
    if not dsn:
        raise ConfigurationError("no database to load: set TEST_DATABASE_URL (e.g. from `harness up --detach`)")
    if not redis_url:
        raise ConfigurationError("no Redis to load: set REDIS_URL (e.g. from `harness up --detach`)")
    hosts = str(conninfo_to_dict(dsn).get("host") or "").split(",")
    for host in hosts:
        _require_loopback("TEST_DATABASE_URL", host)
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        _require_loopback("REDIS_URL", parts.hostname or "")
    keyspace = load_keyspace(ROOT / settings.redis_keyspace)
    password = keyspace.users[REDIS_APP_USER].dev_password
    return Target(dsn, with_credentials(redis_url, REDIS_APP_USER, password), keyspace)


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
