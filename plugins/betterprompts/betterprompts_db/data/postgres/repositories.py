"""A repository for every table of the three schemas."""

from __future__ import annotations

from betterprompts_db.data.postgres import records as r
from betterprompts_db.data.postgres.database import Database
from betterprompts_db.data.postgres.repository import Repository


class Repositories:
    def __init__(self, db: Database) -> None:
        self.users = Repository(db, "auth.users", r.User)
        self.sessions = Repository(db, "auth.sessions", r.Session)
        self.api_keys = Repository(db, "auth.api_keys", r.ApiKey)
        self.user_preferences = Repository(db, "auth.user_preferences", r.UserPreferences)
        self.templates = Repository(db, "prompts.templates", r.Template)
        self.history = Repository(db, "prompts.history", r.HistoryEntry, read_only=("updated_at",))
        self.intent_patterns = Repository(db, "prompts.intent_patterns", r.IntentPattern)
        self.saved_prompts = Repository(db, "prompts.saved_prompts", r.SavedPrompt)
        self.collections = Repository(db, "prompts.collections", r.Collection)
        self.collection_prompts = Repository(db, "prompts.collection_prompts", r.CollectionPrompt)
        self.embeddings = Repository(db, "prompts.embeddings", r.Embedding)
        self.technique_effectiveness = Repository(db, "analytics.technique_effectiveness", r.TechniqueEffectiveness)
        self.user_activity = Repository(db, "analytics.user_activity", r.UserActivity)
        self.daily_stats = Repository(db, "analytics.daily_stats", r.DailyStats)
        self.api_metrics = Repository(db, "analytics.api_metrics", r.ApiMetric)

    async def configure(self, db: Database) -> None:
        """Read what the schema decides (the embedding dimension) so bad input fails before SQL."""
        self.embeddings.dimension = await db.embedding_dimension()

    def all(self) -> list[Repository[object]]:
        return [value for value in vars(self).values() if isinstance(value, Repository)]
