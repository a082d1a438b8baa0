"""betterprompts_db.data: the typed async data layer (asyncpg repositories, Redis services)."""
