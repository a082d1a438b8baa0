"""Locust load tests for BetterPrompts' database layer: users that speak PostgreSQL (psycopg 3) and
Redis (redis-py) directly, load shapes, SLO thresholds, and a pgbench comparison.

Run from the repository root: `locust --config loadtests/locust.conf` (headless, reports in
reports/locust/) or `locust -f loadtests/` (web UI). Locust imports every `*.py` file of a
directory it is given, except those starting with an underscore, as a locustfile of its own: so
the one locustfile is `locustfile.py`, the implementation lives in `_*.py` modules, and nothing
else at this level may define users or listeners.
"""
