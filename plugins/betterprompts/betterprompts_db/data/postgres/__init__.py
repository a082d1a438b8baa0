"""PostgreSQL half of the data layer: `connect(dsn)` gives a `DataLayer` with a repository per
table and the domain services."""

from __future__ import annotations

from dataclasses import dataclass

from betterprompts_db.data.health import Health
from betterprompts_db.data.postgres.analytics import AnalyticsService
from betterprompts_db.data.postgres.auth import AuthPolicy, AuthService, IssuedApiKey, IssuedSession
from betterprompts_db.data.postgres.database import Database, PoolSettings, PoolStats, UnitOfWork
from betterprompts_db.data.postgres.prompts import Enhancement, Match, PromptService, SharedPrompt
from betterprompts_db.data.postgres.repositories import Repositories
from betterprompts_db.data.postgres.repository import Cursor, Page, Repository

__all__ = [
    "AnalyticsService", "AuthPolicy", "AuthService", "Cursor", "DataLayer", "Database", "Enhancement", "Health",
    "IssuedApiKey", "IssuedSession", "Match", "Page", "PoolSettings", "PoolStats", "PromptService", "Repositories",
    "Repository", "SharedPrompt", "UnitOfWork", "connect",
]  # fmt: skip


@dataclass(frozen=True)
class DataLayer:
    db: Database
    repos: Repositories
    auth: AuthService
    prompts: PromptService
    analytics: AnalyticsService

    async def close(self) -> None:
        await self.db.close()


async def connect(
    dsn: str, pool: PoolSettings | None = None, auth: AuthPolicy | None = None, replica_dsn: str | None = None
) -> DataLayer:
    """The data layer on `dsn`; with `replica_dsn`, its reads routed there (Database's docstring)."""
    db = await Database.connect(dsn, pool, replica_dsn)
    repos = Repositories(db)
    await repos.configure(db)
    analytics = AnalyticsService(db)
    return DataLayer(db, repos, AuthService(db, repos, auth), PromptService(db, repos, analytics), analytics)
