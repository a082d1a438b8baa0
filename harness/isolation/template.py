"""The template database: migrated (and seeded) once, named by its recipe's hash.

An unchanged recipe against a reused server is never built twice: the name is the hash. The
template is built under a temporary name and renamed when complete, so a half-built template is
never cloned. On servers that outlive the run, a new template evicts the older ones of its kind
that nothing uses.
"""

from __future__ import annotations

import hashlib
import os

import asyncpg

from harness.errors import MutationFailed
from harness.isolation.recipe import Recipe, ServerFacts
from harness.isolation.reuse import drop_spares
from harness.provision.databases import create_database, drop_database, quote_identifier
from harness.provision.endpoints import Endpoints

TEMPLATE_PREFIX = "hx_"
MUTATED_MARK = "_m"  # hx_<hash>_m<hash>: a template with a mutation applied after the migrations
KIND_MARK = "harness template: "  # the database comment that records a template's kind
# Templates of one kind kept on a server: two branches sharing a reused server do not rebuild
# each other's template on every run.
KEEP_PER_KIND = 2


def template_name(recipe: Recipe, server: ServerFacts, mutation: str = "") -> str:
    """`hx_<hash>`; a mutated template is `hx_<hash>_m<hash of the mutation>`."""
    name = TEMPLATE_PREFIX + recipe.hash(server)[:16]
    return name + mutation_suffix(mutation) if mutation else name


def mutation_suffix(mutation: str) -> str:
    return MUTATED_MARK + hashlib.sha256(mutation.encode()).hexdigest()[:12]


def base_template(name: str) -> str:
    """The unmutated template a mutated one is cloned from (`name` itself when not mutated)."""
    return name.partition(MUTATED_MARK)[0]


async def template_exists(admin: asyncpg.Connection, name: str) -> bool:
    return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate", name))


async def ensure_template(
    endpoints: Endpoints, name: str, recipe: Recipe, mutation: str = "", evict: bool = False
) -> bool:
    """Make sure template `name` exists; return True when it had to be built. With a `mutation`
    (SQL run after the migrations and the seed), `name` is the mutated template's: it is cloned
    from the unmutated one (built first if missing) and the mutation applied in one transaction.
    With `evict` (servers that outlive the run), building an unmutated template evicts the older
    ones of its kind."""
    if mutation:
        await ensure_template(endpoints, base_template(name), recipe, evict=evict)
    admin = await asyncpg.connect(endpoints.postgres)
    try:
        if await template_exists(admin, name):
            return False
        building = f"{name}_b{os.getpid()}"
        await drop_database(admin, building)
        if mutation:
            await clone_database(admin, base_template(name), building)
        else:
            await create_database(admin, building)
        try:
            dsn = endpoints.postgres_dsn(building)
            if mutation:
                await apply_mutation(dsn, name, mutation)
            else:
                await recipe.build(dsn)
                kind = (KIND_MARK + recipe.kind).replace("'", "''")
                await admin.execute(f"COMMENT ON DATABASE {quote_identifier(building)} IS '{kind}'")
            await admin.execute(f"ALTER DATABASE {quote_identifier(building)} RENAME TO {quote_identifier(name)}")
        except asyncpg.DuplicateDatabaseError:
            await drop_database(admin, building)  # a concurrent run built it first
            return False
        except BaseException:
            await drop_database(admin, building)
            raise
        await admin.execute(f"ALTER DATABASE {quote_identifier(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
        if evict and not mutation:
            await evict_templates(admin, recipe.kind)
        return True
    finally:
        await admin.close()


async def evict_templates(admin: asyncpg.Connection, kind: str, keep: int = KEEP_PER_KIND) -> None:
    """Drop the templates of `kind` older than the `keep` newest (by OID: the order they were
    created in) that nothing uses: no connection, no database cloned from them (clones are named
    `<template>_…`). A template someone connects to meanwhile stays (the drop is refused)."""
    rows = await admin.fetch(
        "SELECT datname FROM pg_database WHERE datistemplate AND starts_with(datname, $1)"
        " AND shobj_description(oid, 'pg_database') = $2 ORDER BY oid DESC",
        TEMPLATE_PREFIX, KIND_MARK + kind,
    )  # fmt: skip
    for row in rows[keep:]:
        name = row["datname"]
        await drop_spares(admin, name)  # ready clones left for later runs: not a use
        in_use = await admin.fetchval(
            "SELECT EXISTS (SELECT FROM pg_database WHERE starts_with(datname, $1))"
            " OR EXISTS (SELECT FROM pg_stat_activity WHERE datname = $2)",
            name + "_", name,
        )  # fmt: skip
        if in_use:
            continue
        await admin.execute(f"ALTER DATABASE {quote_identifier(name)} WITH IS_TEMPLATE false")
        try:
            await drop_database(admin, name, force=False)
        except asyncpg.ObjectInUseError:
            await admin.execute(f"ALTER DATABASE {quote_identifier(name)} WITH IS_TEMPLATE true")


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
    """A template cannot be dropped as one: unmark it first. Its spares go with it."""
    await drop_spares(admin, name)
    if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await admin.execute(f"ALTER DATABASE {quote_identifier(name)} WITH IS_TEMPLATE false")
        await drop_database(admin, name)


async def clone_database(admin: asyncpg.Connection, template: str, name: str) -> None:
    """FILE_COPY: for small templates it is faster than WAL_LOG and writes no WAL."""
    await create_database(admin, name, template, "FILE_COPY")
