"""The template database: migrated (and seeded) once, named by a hash of what went into it.

An unchanged schema against a reused server is never migrated twice: the name is the hash. The
template is built under a temporary name and renamed when complete, so a half-built template is
never cloned.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from harness.errors import MutationFailed
from harness.migrate import apply_migrations
from harness.provision.endpoints import Endpoints

TEMPLATE_PREFIX = "hx_"
MUTATED_MARK = "_m"  # hx_<hash>_m<hash>: a template with a mutation applied after the migrations
Seeder = Callable[[str], Awaitable[None]]


def artifacts_hash(*directories: Path, extra: str = "") -> str:
    """sha256 over the relative paths and contents of every file in `directories`."""
    digest = hashlib.sha256(extra.encode())
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def template_name(migrations_dir: Path, seeds_dir: Path, extra: str = "", mutation: str = "") -> str:
    """`hx_<hash>`; a mutated template is `hx_<hash>_m<hash of the mutation>`."""
    name = TEMPLATE_PREFIX + artifacts_hash(migrations_dir, seeds_dir, extra=extra)[:16]
    return name + mutation_suffix(mutation) if mutation else name


def mutation_suffix(mutation: str) -> str:
    return MUTATED_MARK + hashlib.sha256(mutation.encode()).hexdigest()[:12]


def base_template(name: str) -> str:
    """The unmutated template a mutated one is cloned from (`name` itself when not mutated)."""
    return name.partition(MUTATED_MARK)[0]


async def ensure_template(
    endpoints: Endpoints, name: str, migrations_dir: Path, seed: Seeder | None = None, mutation: str = ""
) -> bool:
    """Make sure template `name` exists; return True when it had to be built. With a `mutation`
    (SQL run after the migrations and the seed), `name` is the mutated template's: it is cloned
    from the unmutated one (built first if missing) and the mutation applied in one transaction."""
    if mutation:
        await ensure_template(endpoints, base_template(name), migrations_dir, seed)
    admin = await asyncpg.connect(endpoints.postgres)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate", name):
            return False
        building = f"{name}_b{os.getpid()}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        source = f'"{base_template(name)}" STRATEGY FILE_COPY' if mutation else "template0"
        await admin.execute(f'CREATE DATABASE "{building}" TEMPLATE {source}')
        try:
            dsn = endpoints.postgres_dsn(building)
            if mutation:
                await apply_mutation(dsn, name, mutation)
            else:
                await apply_migrations(dsn, migrations_dir)  # a missing or empty directory is an error
                if seed is not None:
                    await seed(dsn)
            await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        except asyncpg.DuplicateDatabaseError:
            await admin.execute(f'DROP DATABASE "{building}" WITH (FORCE)')  # a concurrent run built it first
            return False
        except BaseException:
            await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            raise
        await admin.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
        return True
    finally:
        await admin.close()


async def apply_mutation(dsn: str, name: str, mutation: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(mutation)
    except asyncpg.PostgresError as exc:
        raise MutationFailed(f"template {name}: the mutation failed: {exc}") from exc
    finally:
        await conn.close()


async def drop_template(admin: asyncpg.Connection, name: str) -> None:
    """A template cannot be dropped as one: unmark it first."""
    if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await admin.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
        await drop_database(admin, name)


async def clone_database(admin: asyncpg.Connection, template: str, name: str) -> None:
    """FILE_COPY: for small templates it is faster than WAL_LOG and writes no WAL."""
    await admin.execute(
        f"CREATE DATABASE {quote_identifier(name)} TEMPLATE {quote_identifier(template)} STRATEGY FILE_COPY"
    )


async def drop_database(admin: asyncpg.Connection, name: str) -> None:
    await admin.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)} WITH (FORCE)")


def quote_identifier(name: str) -> str:
    """`name` as one SQL identifier whatever it holds (PostgreSQL's quote_ident: `"` doubled); DDL
    takes no parameters, so this is what keeps a name from becoming SQL."""
    if not name or "\0" in name:
        raise ValueError(f"not an identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'
