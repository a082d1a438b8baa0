"""harness: versioned PostgreSQL/pgvector and Redis artifacts, and the pytest harness that proves them."""

__version__ = "0.1.0"
