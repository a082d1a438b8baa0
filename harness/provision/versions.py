"""The versions of the servers a run got: what its report header names, so a failure read later
says which PostgreSQL, pgvector and Redis it happened on."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from harness.provision import redis_probe
from harness.provision.endpoints import Endpoints

UNKNOWN = "unknown"


@dataclass(frozen=True)
class ServerVersions:
    postgres: str
    pgvector: str
    redis: str

    def describe(self) -> str:
        vector = f" (pgvector {self.pgvector})" if self.pgvector else ""
        return f"PostgreSQL {self.postgres}{vector}, Redis {self.redis}"


async def server_versions(endpoints: Endpoints) -> ServerVersions:
    """Asked of the servers (one query each); a server that will not say (a Redis user without
    INFO) is `unknown` rather than a failed run."""
    conn = await asyncpg.connect(endpoints.postgres)
    try:
        postgres = str(await conn.fetchval("SELECT current_setting('server_version')")).split()[0]
        pgvector = await conn.fetchval("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
    finally:
        await conn.close()
    return ServerVersions(postgres, pgvector or "", await redis_version(endpoints.redis) or UNKNOWN)


async def redis_version(url: str) -> str | None:
    """None when INFO is not in the user's ACL (NOPERM)."""
    if redis_probe.bare(url):
        return await redis_probe.version(url)
    import redis.asyncio as aioredis
    import redis.exceptions as redis_errors

    client = aioredis.Redis.from_url(url)
    try:
        return str((await client.info("server")).get("redis_version", UNKNOWN))
    except redis_errors.ResponseError:
        return None
    finally:
        await client.aclose()
