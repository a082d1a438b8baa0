"""Primary-key reads driven by Locust against `pgbench -S`, at the same concurrency on the same
server: how much of the server's read capacity one Locust process (psycopg 3 on gevent) can use.

    python -m loadtests.compare_pgbench [--clients 8] [--seconds 10]

Locust reads auth.users of the target database (TEST_DATABASE_URL; seeded first when it has no
users), one statement per request on pooled autocommit connections, no think time. pgbench gets a
scratch database of its own (`pgbench -i -s 1`, dropped afterwards), never the application's.
Locust's directory scan imports this file too: it must define no User class and run nothing on
import.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import time
from dataclasses import dataclass

import gevent
import locust.env  # before psycopg, which picks a gevent-friendly wait when locust's import has patched select
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from harness.provision.embedded import pg_bin_dir
from harness.provision.endpoints import redact
from loadtests import _users  # the module, not the class: see the docstring
from loadtests._dataset import ensure_dataset
from loadtests._pg import Postgres
from loadtests._target import resolve_target

WARMUP = 2.0  # seconds of Locust load before measuring: connections open, statements prepared
TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
LIBPQ_ENVIRONMENT = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD"}


@dataclass(frozen=True)
class LocustReads:
    per_second: float
    mean_ms: float
    p95_ms: int  # Locust's percentiles are whole milliseconds


def locust_reads(dsn: str, clients: int, seconds: float) -> LocustReads:
    """`clients` PrimaryKeyReader users in this process, measured for `seconds` after a warm-up."""
    postgres = Postgres(dsn, max_size=clients, min_size=clients)
    try:
        with postgres.connection() as conn:
            _users.PrimaryKeyReader.user_ids = [row[0] for row in conn.execute("SELECT id::text FROM auth.users")]
        _users.PrimaryKeyReader.postgres = postgres
        environment = locust.env.Environment(user_classes=[_users.PrimaryKeyReader], stop_timeout=5)
        runner = environment.create_local_runner()
        runner.start(clients, spawn_rate=clients, wait=True)
        gevent.sleep(WARMUP)
        environment.stats.reset_all()
        started = time.perf_counter()
        gevent.sleep(seconds)  # the measurement window
        elapsed, total = time.perf_counter() - started, environment.stats.total
        reads, failures = total.num_requests, total.num_failures
        mean, p95 = total.avg_response_time, total.get_response_time_percentile(0.95)
        runner.quit()  # each user finishes its read in flight (stop_timeout) and returns its connection
    finally:
        postgres.close()
    if failures:
        raise RuntimeError(f"{failures} of {reads} Locust reads failed: {list(environment.stats.errors.values())[:3]}")
    return LocustReads(reads / elapsed, mean, p95)


def pgbench_reads(dsn: str, clients: int, seconds: float) -> float:
    """`pgbench -S` transactions per second (excluding connection time) in a scratch database."""
    params = conninfo_to_dict(dsn)
    scratch = f"hx_pgbench_{secrets.token_hex(4)}"
    env = {**os.environ, "PGDATABASE": scratch}
    env.update({variable: str(params[key]) for key, variable in LIBPQ_ENVIRONMENT.items() if key in params})
    pgbench = str(pg_bin_dir() / "pgbench")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        try:
            subprocess.run([pgbench, "-i", "-s", "1", "-q"], env=env, check=True, capture_output=True)
            command = [pgbench, "-S", "-M", "prepared", "-n", "-c", str(clients), "-j", str(pgbench_threads(clients))]
            done = subprocess.run(
                [*command, "-T", str(round(seconds))], env=env, check=True, capture_output=True, text=True
            )
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
    found = TPS.search(done.stdout)
    if found is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{done.stdout}")
    return float(found.group(1))


def pgbench_threads(clients: int) -> int:
    return min(clients, os.cpu_count() or 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent Locust users and pgbench clients")
    parser.add_argument("--seconds", type=float, default=10, help="length of each measurement")
    args = parser.parse_args()
    dsn = resolve_target().postgres_dsn
    print(ensure_dataset(dsn, "demo", 1.0))
    reads = locust_reads(dsn, args.clients, args.seconds)
    tps = pgbench_reads(dsn, args.clients, args.seconds)
    print(f"primary-key reads, {args.clients} clients, {args.seconds:g} s each, one server: {redact(dsn)}")
    print(
        f"  locust  {reads.per_second:8,.0f} reads/s  mean {reads.mean_ms:.2f} ms, p95 {reads.p95_ms} ms"
        "  (1 process, psycopg 3 on gevent: SELECT … FROM auth.users WHERE id = $1)"
    )
    print(
        f"  pgbench {tps:8,.0f} tps"
        f"  (-S -M prepared -j {pgbench_threads(args.clients)}: SELECT … FROM pgbench_accounts WHERE aid = $1, scale 1)"
    )
    print(f"  locust / pgbench: {reads.per_second / tps:.2f}")


if __name__ == "__main__":
    main()
