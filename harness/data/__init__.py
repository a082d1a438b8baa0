"""harness.data: the typed async data layer (asyncpg repositories, Redis services)."""
