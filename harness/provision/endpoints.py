"""Where the provisioned servers answer: the value every backend hands to the rest of the harness."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from harness.errors import ProvisionError


def redact(url: str) -> str:
    """The URL with its passwords replaced, for logs and messages: the one after the user name and
    any query parameter that carries one (libpq and redis-py both read `?password=`; libpq also
    `sslpassword`)."""
    parts = urlsplit(url)
    if parts.password is None and "password" not in parts.query.lower():
        return url
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}")
    query = "&".join(_redact_parameter(parameter) for parameter in parts.query.split("&"))
    return urlunsplit(parts._replace(query=query))


def _redact_parameter(parameter: str) -> str:
    name, equals, _ = parameter.partition("=")
    return f"{name}=***" if equals and "password" in unquote(name).lower() else parameter


def with_credentials(url: str, user: str | None, password: str | None) -> str:
    """The same server as another user (or anonymously with `None`)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    auth = f"{quote(user or '', safe='')}:{quote(password or '', safe='')}@" if user or password else ""
    return urlunsplit(parts._replace(netloc=auth + host))


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database."""
    return urlunsplit(urlsplit(dsn)._replace(path="/" + database))


@dataclass(frozen=True)
class Endpoints:
    """A running Postgres and Redis: admin DSN (a role that may create databases) and Redis URL;
    `replica`: a streaming replica's admin DSN, when one was started (harness.provision.replica)."""

    postgres: str
    redis: str
    backend: str
    replica: str | None = None

    def postgres_dsn(self, database: str) -> str:
        return with_database(self.postgres, database)

    def redis_url(self, db: int) -> str:
        return urlunsplit(urlsplit(self.redis)._replace(path=f"/{db}"))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Endpoints:
        return cls(**json.loads(text))

    def replica_dsn(self, database: str) -> str:
        if self.replica is None:
            raise ProvisionError("these endpoints have no replica: start one with harness.provision.replica")
        return with_database(self.replica, database)

    def describe(self) -> str:
        replica = f"  replica {redact(self.replica)}" if self.replica else ""
        return f"postgres {redact(self.postgres)}{replica}  redis {redact(self.redis)}  ({self.backend})"

    def __repr__(self) -> str:  # a failed assertion or a log line shows this: never the passwords
        replica = f", replica={redact(self.replica)!r}" if self.replica else ""
        return (
            f"Endpoints(postgres={redact(self.postgres)!r}{replica}, redis={redact(self.redis)!r},"
            f" backend={self.backend!r})"
        )
