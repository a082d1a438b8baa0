"""harness: versioned PostgreSQL/pgvector and Redis artifacts, and the pytest harness that proves them.

Imports sit at the top of a module. One inside a function says why in a trailing comment, in one of
three phrasings: `# start-up: <what is heavy>` (every command pays for what `harness` imports before
it runs), `# optional extra: <extra> (<module>)` (not installed everywhere), `# cycle: <module>` (it
imports this one, directly or through the module in parentheses).
"""

__version__ = "0.1.0"
