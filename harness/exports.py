"""What `harness env` and `harness clone` hand to another program (a Go test, a Makefile, a GitHub
Actions step): the connection URLs, passwords included, in the form that program reads without
parsing URLs or scraping prose."""

from __future__ import annotations

import json
import re
import secrets
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

Format = Literal["env", "export", "json", "github"]
POSTGRES_PORT = 5432
REDIS_PORT = 6379


@dataclass(frozen=True)
class Rendered:
    """What a command writes: `stdout` for the consumer, `stderr` for the runner around it (GitHub
    reads `::add-mask::` there, so `>> "$GITHUB_ENV"` keeps the file free of commands)."""

    stdout: str
    stderr: str = ""


def render(variables: Mapping[str, str], form: Format) -> Rendered:
    """`variables` (NAME → value, printed in this order) in the chosen form."""
    if form == "json":
        return Rendered(json.dumps(as_document(variables), indent=2) + "\n")
    if form == "github":
        masks = "".join(f"::add-mask::{escape_command(secret)}\n" for secret in passwords(variables.values()))
        return Rendered("".join(github_env_line(name, value) for name, value in variables.items()), masks)
    prefix = "export " if form == "export" else ""
    return Rendered("".join(f"{prefix}{name}={shlex.quote(value)}\n" for name, value in variables.items()))


def with_role_urls(urls: dict[str, str], logins_file: Path) -> dict[str, str]:
    """`urls` plus DATABASE_URL as each role of the logins file (`Settings.postgres_logins`), in its
    order, under the role's own variable: app_user's is APP_USER_DATABASE_URL."""
    from harness.migrate.logins import dsn_as, load_logins  # start-up: pglast (harness.migrate)

    logins = load_logins(logins_file)
    return {**urls, **{role_variable(role): dsn_as(urls["DATABASE_URL"], role, logins) for role in logins}}


def role_variable(role: str) -> str:
    """The variable that holds a role's URL: the role's name in capitals, anything but a letter, digit
    or underscore made an underscore, then `_DATABASE_URL` (`app-user` → `APP_USER_DATABASE_URL`)."""
    return re.sub(r"[^A-Z0-9_]", "_", role.upper()) + "_DATABASE_URL"


def as_document(variables: Mapping[str, str]) -> dict[str, object]:
    """The variables, plus each server's parts (host, port, …) so a consumer needs no URL parser."""
    document: dict[str, object] = dict(variables)
    if "DATABASE_URL" in variables:
        document["postgres"] = postgres_parts(variables["DATABASE_URL"])
    if "REDIS_URL" in variables:
        document["redis"] = redis_parts(variables["REDIS_URL"])
    return document


def postgres_parts(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "",
        "port": parts.port or POSTGRES_PORT,
        "database": unquote(parts.path.lstrip("/")),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
    }


def redis_parts(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    db = parts.path.lstrip("/")
    return {
        "host": parts.hostname or "",
        "port": parts.port or REDIS_PORT,
        "db": int(db) if db.isdigit() else 0,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
    }


def passwords(values: Iterable[str]) -> list[str]:
    """Every password in the URLs among `values`, as written in the URL and decoded (a mask matches
    text, and a log may show either form); each once, in order."""
    found: list[str] = []
    for value in values:
        password = urlsplit(value).password if "://" in value else None
        if password:
            found += [password, unquote(password)]
    return list(dict.fromkeys(found))


def github_env_line(name: str, value: str) -> str:
    """One variable for `$GITHUB_ENV`: `NAME=value`, or the heredoc form GitHub documents for a value
    with a line break, under a random delimiter the value cannot contain."""
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def escape_command(value: str) -> str:
    """A workflow command's value escaped as @actions/core escapes it (`%`, CR, LF)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
