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

from harness.migrate import apply_migrations
from harness.provision.endpoints import Endpoints

TEMPLATE_PREFIX = "hx_"
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


def template_name(migrations_dir: Path, seeds_dir: Path, extra: str = "") -> str:
    return TEMPLATE_PREFIX + artifacts_hash(migrations_dir, seeds_dir, extra=extra)[:16]


async def ensure_template(endpoints: Endpoints, name: str, migrations_dir: Path, seed: Seeder | None = None) -> bool:
    """Make sure template `name` exists; return True when it had to be built."""
    admin = await asyncpg.connect(endpoints.postgres)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate", name):
            return False
        building = f"{name}_b{os.getpid()}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{building}" TEMPLATE template0')
        try:
            dsn = endpoints.postgres_dsn(building)
            if migrations_dir.is_dir():
                await apply_migrations(dsn, migrations_dir)
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


async def clone_database(admin: asyncpg.Connection, template: str, name: str) -> None:
    """FILE_COPY: for small templates it is faster than WAL_LOG and writes no WAL."""
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')


async def drop_database(admin: asyncpg.Connection, name: str) -> None:
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
