"""A recipe: how a template is built (migrations, then a domain's seed) and the hash of everything
its contents depend on, so a template is rebuilt exactly when one of those changes (pgtestdb's
`Migrator.Hash`). The server's own facts are part of it: the same migrations on another
PostgreSQL or pgvector version make another template."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import asyncpg

from harness.migrate import apply_migrations

# Read from template0, which every template is created from: they decide how text sorts and compares.
LOCALE_QUERY = "SELECT datcollate, datctype, datlocprovider::text FROM pg_database WHERE datname = 'template0'"
RESULT_SETTINGS = ("server_encoding", "default_text_search_config")


class Seed(Protocol):
    """A domain's rows for a template: `label` names the kind of data (templates of one label
    replace each other), `fingerprint` hashes everything the rows come from (data files and the
    generator's code), `load` writes them."""

    @property
    def label(self) -> str: ...

    def fingerprint(self) -> str: ...

    async def load(self, dsn: str) -> None: ...


@dataclass(frozen=True)
class ServerFacts:
    """What a server contributes to a template's contents: its version, the extension versions it
    offers (CREATE EXTENSION installs the default one), and the settings that change results."""

    version: str
    extensions: tuple[str, ...]
    settings: tuple[str, ...]

    @classmethod
    async def read(cls, admin: asyncpg.Connection) -> ServerFacts:
        version = await admin.fetchval("SHOW server_version")
        extensions = await admin.fetch("SELECT name, default_version FROM pg_available_extensions ORDER BY name")
        locale = await admin.fetchrow(LOCALE_QUERY)
        settings = [f"{name}={await admin.fetchval(f'SHOW {name}')}" for name in RESULT_SETTINGS]
        return cls(
            str(version),
            tuple(f"{row['name']}={row['default_version']}" for row in extensions),
            (*settings, *(f"{key}={value}" for key, value in (locale or {}).items())),
        )

    def fingerprint(self) -> str:
        return "\n".join([self.version, *self.extensions, *self.settings])


def files_hash(*directories: Path, extra: str = "") -> str:
    """sha256 over the relative paths and contents of every file in `directories` (bytecode caches
    left out: they change with the interpreter, not with the source)."""
    digest = hashlib.sha256(extra.encode())
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Recipe:
    """The migrations of `migrations_dir`, then `seed` when there is one."""

    migrations_dir: Path
    seed: Seed | None = None

    @property
    def kind(self) -> str:
        """What the template holds, whatever its version: the newest templates of a kind replace
        the older ones on a reused server."""
        return "migrations" if self.seed is None else f"migrations+{self.seed.label}"

    def contents_key(self) -> str:
        """The hash of what the recipe itself brings (migrations, the seed), without the server's
        facts: the key of a template snapshot (harness.provision.snapshot_cache), whose server the
        initdb cache's key describes."""
        parts = [files_hash(self.migrations_dir), self.kind, self.seed.fingerprint() if self.seed else ""]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def hash(self, server: ServerFacts) -> str:
        parts = [files_hash(self.migrations_dir), self.seed.fingerprint() if self.seed else "", server.fingerprint()]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    async def build(self, dsn: str) -> None:
        await apply_migrations(dsn, self.migrations_dir)  # a missing or empty directory is an error
        if self.seed is not None:
            await self.seed.load(dsn)
