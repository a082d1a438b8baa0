"""Defaults that both the settings model and library calls made without settings use, in a module
of no imports: the settings model (pydantic) and the migrate package (asyncpg) each import it
without importing the other."""

MIGRATE_LOCK_WAIT = 600.0  # seconds a migration runner waits for another's lock (Settings.migrate_lock_wait)
