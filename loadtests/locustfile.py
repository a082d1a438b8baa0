"""BetterPrompts' load test, the one locustfile of `locust -f loadtests/`: the user class, the
options, and the listeners that prepare the run (target, shape, data) and judge it (SLOs).

Where it goes, from the environment (loadtests/_target.py), as `eval "$(harness env --export)"`
sets it up:
  TEST_DATABASE_URL          an admin DSN: seeds a database without users, samples the users to act as
  LOADTEST_APP_DATABASE_URL  the login every request uses (default: the same database as bp_app,
                             with its development password from schema/postgres/logins.toml);
                             an environment variable, not an option, so the password stays out of `ps`
  REDIS_URL                  the Redis server; the users log in as its ACL user bp_app
  LOADTEST_REPLICA_DATABASE_URL  optional: a streaming replica of that database (admin DSN); the
                             mix's reads (history page, similarity search) go there as bp_app, and
                             the replica's lag is sampled during the run (PREFIX_replica_lag.json)
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from harness.config import Settings
from harness.insight import InsightStart, capture_insight, start_insight, write_insight
from loadtests._dataset import ensure_dataset
from loadtests._pg import REQUEST_TIMEOUT
from loadtests._replica_lag import LagSampler
from loadtests._shapes import SHAPES
from loadtests._slo import MAX_FAILURE_RATIO, fewest_requests, unmeasured, verdict, with_overrides
from loadtests._target import resolve_target
from loadtests._users import AppUser, close_process_clients

__all__ = ["AppUser"]

logger = logging.getLogger("loadtests")


def add_options(parser: LocustArgumentParser) -> None:
    parser.add_argument(
        "--shape", choices=[*SHAPES, "none"], default="ramp", env_var="LOADTEST_SHAPE",
        help="load shape; 'none' leaves -u/-r/-t to Locust (default: ramp)",
    )  # fmt: skip
    parser.add_argument(
        "--think-time", type=float, default=0.5, env_var="LOADTEST_THINK_TIME",
        help="a user pauses between 0 and this many seconds between operations (default: 0.5)",
    )  # fmt: skip
    parser.add_argument(
        "--pg-pool-size", type=int, default=20, env_var="LOADTEST_PG_POOL_SIZE",
        help="psycopg connections per Locust process (default: 20, the data layer's pool)",
    )  # fmt: skip
    parser.add_argument(
        "--seed-profile", default="demo", env_var="LOADTEST_SEED_PROFILE",
        help="betterprompts_db.seed profile loaded into a database without users (default: demo)",
    )  # fmt: skip
    parser.add_argument(
        "--seed-scale", type=float, default=1.0, env_var="LOADTEST_SEED_SCALE",
        help="scale of that profile (default: 1)",
    )  # fmt: skip
    parser.add_argument(
        "--slo", action="append", default=[], metavar="NAME=MS",
        help="override the p95 objective of a request name, in milliseconds (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--slo-failure-ratio", type=float, default=MAX_FAILURE_RATIO,
        help=f"most failed requests allowed, as a fraction (default: {MAX_FAILURE_RATIO})",
    )  # fmt: skip
    parser.add_argument(
        "--slo-latency", choices=["enforce", "report"], default="enforce", env_var="LOADTEST_SLO_LATENCY",
        help="'report' logs a missed p95 as a warning instead of failing the run, for short runs on shared"
             " machines; the failure ratio is enforced either way (default: enforce)",
    )  # fmt: skip
    parser.add_argument(
        "--request-timeout", type=float, default=REQUEST_TIMEOUT, env_var="LOADTEST_REQUEST_TIMEOUT",
        help="seconds a request waits for a pooled connection or a Redis reply before it counts as failed;"
             f" opening the pools gets twice this (default: {REQUEST_TIMEOUT:g})",
    )  # fmt: skip
    parser.add_argument(
        "--min-requests", type=int, default=0, env_var="LOADTEST_MIN_REQUESTS",
        help="stop once every request with an SLO has been measured this many times, even before"
             " --run-time (default: 0, off)",
    )  # fmt: skip


def prepare(environment: Environment, **_: Any) -> None:
    """On the master or the only process, before any clock starts: check the target, pick the
    shape, seed a database without users. An error here stops Locust before any load."""
    if isinstance(environment.runner, WorkerRunner):
        return
    options = environment.parsed_options
    assert options is not None
    with_overrides(options.slo)  # a malformed --slo fails now, not after the run
    target = resolve_target()
    logger.info("target: %s", target)
    shape = SHAPES.get(options.shape)
    environment.shape_class = shape(options.num_users, options.run_time) if shape else None
    if environment.shape_class is not None:
        environment.shape_class.runner = environment.runner
    logger.info(ensure_dataset(target.postgres_dsn, options.seed_profile, options.seed_scale))
    if target.replica_app_dsn:
        lag.append(LagSampler(target.postgres_dsn))
    if options.csv_prefix:  # what the database does under the load, zeroed now that the data is in
        database = urlsplit(target.postgres_dsn).path.lstrip("/")  # its own only: a suite may share the server
        insight.append(asyncio.run(start_insight(target.postgres_dsn, Settings().external_redis_url() or "", database)))


insight: list[InsightStart] = []
lag: list[LagSampler] = []  # the master's (or only process's) sampler, when the reads go to a replica


def start_lag_sampling(**_: Any) -> None:
    for sampler in lag:
        sampler.start()


def report_lag(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    for sampler in lag:
        sampler.stop()
        sampler.report(options.csv_prefix if options else None)


def write_insight_capture(environment: Environment, **_: Any) -> None:
    """Beside the CSV files, as `insight-<prefix>.json`, for `harness report`."""
    options = environment.parsed_options
    if not insight or options is None or not options.csv_prefix:
        return
    prefix = Path(options.csv_prefix)
    document = asyncio.run(capture_insight(insight[0], [insight[0].database or ""]))
    write_insight(document, prefix.with_name(f"insight-{prefix.name}.json"))


def stop_once_measured(environment: Environment, **_: Any) -> None:
    """With --min-requests N, on the master or the only process: end the run once every request
    with an objective has been measured N times, so a run is as long as judging it takes (a busy
    machine makes it longer, never too short to judge). --run-time still caps it."""
    runner = environment.runner
    options = environment.parsed_options
    if isinstance(runner, WorkerRunner) or runner is None or options is None or options.min_requests <= 0:
        return
    names = with_overrides(options.slo)

    def watch() -> None:
        while fewest_requests(environment.stats, names) < options.min_requests:
            gevent.sleep(0.5)  # the master's counts arrive in the workers' periodic reports
        logger.info("every request measured at least %d times: stopping", options.min_requests)
        runner.quit()

    gevent.spawn(watch)


def judge(environment: Environment, **_: Any) -> None:
    """Exit 1, naming every missed objective; else 0, failures within the allowed ratio included
    (a task that raised outside any request keeps Locust's own non-zero code)."""
    if isinstance(environment.runner, WorkerRunner) or environment.runner is None:
        return
    options = environment.parsed_options
    assert options is not None
    limits = with_overrides(options.slo)
    for name in unmeasured(environment.stats, limits):
        logger.warning("SLO not judged: no requests named %r", name)
    judged = verdict(environment.stats, limits, options.slo_failure_ratio,
                     enforce_latency=options.slo_latency == "enforce")  # fmt: skip
    for miss in judged["advisory"]:
        logger.warning("SLO missed (reported only, --slo-latency report): %s", miss)
    for breach in judged["breaches"]:
        logger.error("SLO breached: %s", breach)
    if options.csv_prefix:  # beside the CSV files, for `harness report`
        Path(f"{options.csv_prefix}_slo.json").write_text(json.dumps(judged, indent=2) + "\n")
    if judged["breaches"]:
        environment.process_exit_code = 1
    elif not environment.runner.exceptions:
        environment.process_exit_code = 0


def write_final_stats(environment: Environment, **_: Any) -> None:
    """Locust rewrites PREFIX_stats.csv once a second and not at shutdown, so the file lacks what
    the last second measured (on a master, the workers' final reports too); write it once more,
    now that the counts are final, for `harness report` and anyone reading the file."""
    options = environment.parsed_options
    if isinstance(environment.runner, WorkerRunner) or options is None or not options.csv_prefix:
        return
    with open(f"{options.csv_prefix}_stats.csv", "w", newline="") as stats:
        StatsCSV(environment, PERCENTILES_TO_REPORT).requests_csv(csv.writer(stats))


def close_clients(**_: Any) -> None:
    close_process_clients()


class AbandonedTransactions(logging.Filter):
    """Once the test is stopping, Locust kills the users it saw sleeping; one already woken may be
    mid-query by then, and psycopg warns that it could not roll back the abandoned transaction
    and drops the connection. Expected at that point (and never counted as a request), so those
    warnings are dropped then; during the run they still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.WARNING


def quiet_abandoned_transactions(**_: Any) -> None:
    for name in ("psycopg", "psycopg.transaction", "psycopg.pool"):
        logging.getLogger(name).addFilter(AbandonedTransactions())


events.init_command_line_parser.add_listener(add_options)
events.init.add_listener(prepare)
events.test_start.add_listener(stop_once_measured)
events.test_start.add_listener(start_lag_sampling)
events.quitting.add_listener(report_lag)
events.quitting.add_listener(judge)
events.quitting.add_listener(write_final_stats)
events.quitting.add_listener(write_insight_capture)
events.quit.add_listener(close_clients)
events.test_stopping.add_listener(quiet_abandoned_transactions)
