"""Databases on a provisioned server: create one (empty, or a copy of a template) and drop one.

The one home of this DDL: it takes no parameters, so every name goes through `quote_identifier`
and nothing a caller names can become SQL. It sits below migrate and isolation, which both make
scratch databases.
"""

from __future__ import annotations

from typing import Literal

import asyncpg

# How CREATE DATABASE copies its template: FILE_COPY is faster for small templates and writes no
# WAL; WAL_LOG (PostgreSQL's default) suits large ones. None leaves it to the server.
Strategy = Literal["FILE_COPY", "WAL_LOG"]


async def create_database(
    admin: asyncpg.Connection, name: str, template: str = "template0", strategy: Strategy | None = None
) -> None:
    """CREATE DATABASE `name` as a copy of `template` (template0: an empty database)."""
    sql = f"CREATE DATABASE {quote_identifier(name)} TEMPLATE {quote_identifier(template)}"
    await admin.execute(sql if strategy is None else f"{sql} STRATEGY {strategy}")


async def drop_database(admin: asyncpg.Connection, name: str, force: bool = True) -> None:
    """DROP DATABASE IF EXISTS `name`; with `force` its sessions are ended first, without it a
    database in use is refused (asyncpg.ObjectInUseError)."""
    await admin.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)}" + (" WITH (FORCE)" if force else ""))


def quote_identifier(name: str) -> str:
    """`name` as one SQL identifier whatever it holds (PostgreSQL's quote_ident: `"` doubled); DDL
    takes no parameters, so this is what keeps a name from becoming SQL."""
    if not name or "\0" in name:
        raise ValueError(f"not an identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'
