"""The Locust load test as a user runs it: real headless locust processes against this run's servers
(a database of the test's own, seeded by the run itself). Each run lasts until every request of
the mix has been measured (`--min-requests`), not a fixed few seconds: on a busy machine start-up
can take longer than such a run, which would then measure nothing. Request deadlines, the run's
cap and the wait for workers are the hang guard."""

from __future__ import annotations

import asyncio
import csv
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from betterprompts_db.keyspace import load_keyspace
from harness.migrate.logins import load_logins
from harness.provision.embedded import free_port
from harness.provision.endpoints import Endpoints, with_credentials
from harness.pytest_plugin import Database
from harness.report import build_report, write_report

ROOT = Path(__file__).resolve().parents[3]
LOCUST = str(Path(sys.executable).with_name("locust"))
REQUESTS = {
    ("pg", "history page"), ("pg", "similarity search"), ("pg", "record enhancement"), ("redis", "session create"),
    ("redis", "session check"), ("redis", "rate limit"), ("redis", "cache hit"), ("redis", "cache miss"),
    ("redis", "cache set"),
}  # fmt: skip
# The suites judge the tool, not this machine's speed under `pytest -n auto`: generous objectives,
# and no failure tolerated.
LENIENT = [arg for _, name in sorted(REQUESTS) for arg in ("--slo", f"{name}=60000")] + ["--slo-failure-ratio", "0"]
QUICK = ["--seed-scale", "0.1", "--think-time", "0.05", "--min-requests", "1"]


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    requests: dict[tuple[str, str], int]  # (type, name) -> request count, from the CSV stats

    def __str__(self) -> str:
        lines = self.output.splitlines()
        problems = [line for line in lines if any(mark in line for mark in ("/ERROR/", "/WARNING/", "Error"))]
        return f"exit {self.returncode}\n" + "\n".join(problems[:40]) + f"\n...\n{self.output[-3000:]}"


class Locust:
    """Runs locust from the repository root at one test's database and Redis (as bp_app).

    `hang` (the run's hang guard, in seconds) bounds each request's waits and caps each run
    (`--run-time`); the process gets twice that to start, run and shut down."""

    def __init__(self, database: Database, endpoints: Endpoints, reports: Path, hang: float) -> None:
        self.env = {
            **os.environ,
            "HARNESS_DATABASE_URL": database.dsn,
            "HARNESS_REDIS_URL": with_credentials(endpoints.redis, "bp_app", "bp-app-dev"),
        }
        self.env.pop("LOADTEST_APP_DATABASE_URL", None)  # the login comes from the logins file unless a test sets it
        self.csv = reports / "locust"
        self.hang = hang
        self.cap = f"{math.ceil(hang)}s"  # a --run-time no run that is not stuck reaches

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [LOCUST, *args], cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def run(self, *args: str) -> Run:
        process = self.start(*args, "--request-timeout", str(self.hang), "--csv", str(self.csv))
        try:
            output, _ = process.communicate(timeout=2 * self.hang)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            pytest.fail(f"locust {' '.join(args)} still running after {2 * self.hang:g} s:\n{output[-4000:]}")
        print(f"$ locust {' '.join(args)}\n{output}")  # shown in full beside a failure
        return Run(process.returncode, output, self.requests())

    def requests(self) -> dict[tuple[str, str], int]:
        """Request counts from the CSV stats; none when locust stopped before writing any."""
        path = Path(f"{self.csv}_stats.csv")
        if not path.exists():
            return {}
        with path.open(newline="") as stats:
            return {(row["Type"], row["Name"]): int(row["Request Count"]) for row in csv.DictReader(stats)}


@pytest.fixture
def locust(fresh_database: Database, endpoints: Endpoints, tmp_path: Path, hang_timeout: float) -> Locust:
    return Locust(fresh_database, endpoints, tmp_path, hang_timeout)


def test_the_configured_headless_run_measures_every_request_of_the_mix_and_exits_zero(
    locust: Locust, tmp_path: Path
) -> None:
    html = tmp_path / "report.html"
    run = locust.run("--config", "loadtests/locust.conf", "--html", str(html), "-u", "4", "-t", locust.cap, *QUICK,
                     *LENIENT)  # fmt: skip
    assert run.returncode == 0, str(run)
    assert "SLO breached" not in run.output, str(run)
    missing = sorted(name for name in REQUESTS if not run.requests.get(name))
    assert not missing, f"no requests for {missing}\n{run}"
    assert html.stat().st_size > 0
    report = build_report(tmp_path)  # what `harness report` makes of this real run's files
    [locust_run] = report.locust
    assert locust_run.slo is not None
    assert not locust_run.slo.breaches
    assert {(o.type, o.name) for o in locust_run.slo.objectives} == REQUESTS
    assert "locust:locust" in report.figures  # requests/s and percentiles over time, from the history CSV
    [insight] = report.insight  # what the database did under the load: its own database's statements
    assert insight.source == "insight-locust.json"
    assert any(s["calls"] for s in insight.servers[0]["statements"]), insight.servers[0]


def test_a_breached_slo_exits_non_zero_and_names_itself(locust: Locust, tmp_path: Path) -> None:
    run = locust.run("-f", "loadtests/", "--headless", "--shape", "none", "-u", "2", "-r", "2", "-t", locust.cap,
                     *QUICK, *LENIENT, "--slo", "record enhancement=0.001")  # fmt: skip
    assert run.returncode == 1, str(run)
    assert "SLO breached: p95 of pg 'record enhancement'" in run.output, str(run)
    assert "over its SLO of 0.001 ms" in run.output, str(run)
    report = build_report(tmp_path)
    assert [b.split(": ", 1)[1] for b in report.slo_breaches] == [
        b.split("SLO breached: ", 1)[1] for b in run.output.splitlines() if "SLO breached: " in b
    ]
    assert "Load-test SLOs breached" in write_report(report).read_text()


def test_a_missed_p95_under_slo_latency_report_is_reported_and_the_run_passes(locust: Locust, tmp_path: Path) -> None:
    """What CI's short pass on a shared machine does: the p95 is measured and shown, not judged."""
    run = locust.run("-f", "loadtests/", "--headless", "--shape", "none", "-u", "2", "-r", "2", "-t", locust.cap,
                     *QUICK, *LENIENT, "--slo", "record enhancement=0.001", "--slo-latency", "report")  # fmt: skip
    assert run.returncode == 0, str(run)
    assert "SLO breached" not in run.output, str(run)
    assert "SLO missed (reported only, --slo-latency report): p95 of pg 'record enhancement'" in run.output, str(run)
    report = build_report(tmp_path)
    [locust_run] = report.locust
    assert locust_run.slo is not None
    assert not locust_run.slo.breaches
    assert not report.slo_breaches
    assert [a.split(" is ")[0] for a in locust_run.slo.advisory] == ["p95 of pg 'record enhancement'"]
    assert "1 p95 missed, reported only" in write_report(report).read_text()


async def logins_of_the_load(database: Database, run: asyncio.Task[Run]) -> set[str]:
    """Every role the load's pooled connections (application_name "loadtests") logged in as, seen
    in pg_stat_activity while the run lasts. usename is the login: SET ROLE does not change it."""
    seen: set[str] = set()
    admin = await asyncpg.connect(database.dsn)
    try:
        while not run.done():
            rows = await admin.fetch(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'loadtests' AND datname = $1",
                database.name,
            )
            seen.update(row["usename"] for row in rows)
            await asyncio.sleep(0.02)  # a sampling interval, not a wait for something to happen
    finally:
        await admin.close()
    return seen


async def test_the_mix_logs_in_as_bp_app_and_its_writes_land_under_that_login(
    locust: Locust, fresh_database: Database
) -> None:
    args = ["-f", "loadtests/", "--headless", "--shape", "none", "-u", "2", "-r", "2", "-t", locust.cap, *QUICK,
            *LENIENT]  # fmt: skip
    running = asyncio.ensure_future(asyncio.to_thread(locust.run, *args))
    logins = await logins_of_the_load(fresh_database, running)
    run = await running
    assert run.returncode == 0, str(run)
    assert logins == {"bp_app"}, f"the load's connections logged in as {sorted(logins)}\n{run}"
    assert "loadtests: postgres requests log in as bp_app" in run.output, str(run)
    admin = await asyncpg.connect(fresh_database.dsn)
    try:
        written = await admin.fetchval(
            "SELECT count(*) FROM prompts.history WHERE model_version = 'bp-enhancer-load' AND user_id IS NOT NULL"
        )
    finally:
        await admin.close()
    recorded = run.requests[("pg", "record enhancement")]
    assert written >= recorded > 0, f"{recorded} enhancements measured, {written} history rows\n{run}"


def test_an_explicit_app_login_is_used_without_a_logins_file(
    locust: Locust, fresh_database: Database, tmp_path: Path
) -> None:
    locust.env["HARNESS_POSTGRES_LOGINS"] = str(tmp_path / "no-logins.toml")
    locust.env["LOADTEST_APP_DATABASE_URL"] = fresh_database.dsn_as("bp_app")
    run = locust.run("-f", "loadtests/", "--headless", "--shape", "none", "-u", "2", "-r", "2", "-t", locust.cap,
                     *QUICK, *LENIENT)  # fmt: skip
    assert run.returncode == 0, str(run)
    assert "loadtests: postgres requests log in as bp_app" in run.output, str(run)
    assert run.requests.get(("pg", "record enhancement")), str(run)


def test_without_an_app_login_the_run_stops_before_any_load_and_says_where_to_put_one(
    locust: Locust, tmp_path: Path
) -> None:
    locust.env["HARNESS_POSTGRES_LOGINS"] = str(tmp_path / "no-logins.toml")
    run = locust.run("-f", "loadtests/", "--headless", "--shape", "none", "-u", "2", "-r", "2", "-t", locust.cap,
                     *QUICK, *LENIENT)  # fmt: skip
    assert run.returncode != 0, str(run)
    assert "no password for bp_app" in run.output, str(run)
    assert "LOADTEST_APP_DATABASE_URL" in run.output, str(run)
    assert not run.requests.get(("pg", "history page")), str(run)


def test_no_password_of_the_run_reaches_the_output(locust: Locust, fresh_database: Database) -> None:
    run = locust.run("-f", "loadtests/", "--headless", "--shape", "none", "-u", "2", "-r", "2", "-t", locust.cap,
                     *QUICK, *LENIENT)  # fmt: skip
    assert run.returncode == 0, str(run)
    superuser = urlsplit(fresh_database.dsn).password
    redis_users = load_keyspace(ROOT / "schema/redis/keyspace.toml").users.values()
    passwords = {*load_logins(ROOT / "schema/postgres/logins.toml").values(), *(u.dev_password for u in redis_users)}
    passwords |= {superuser} if superuser else set()
    leaked = sorted(p for p in passwords if p in run.output)
    assert not leaked, f"passwords in locust's output: {leaked}"


def serving(port: str) -> list[str]:
    """A master listening on `port` of the loopback only. Each distributed run gets a port of its
    own (`free_port`): on Locust's default, 5557, a master takes in any worker on the machine, such
    as a concurrent run's, and a second master cannot listen at all."""
    return ["--master-bind-host", "127.0.0.1", "--master-bind-port", port]


def joining(port: str) -> list[str]:
    """Workers that connect to the master on `port`."""
    return ["--master-host", "127.0.0.1", "--master-port", port]


def test_two_worker_processes_share_the_load(locust: Locust) -> None:
    port = str(free_port())
    run = locust.run("-f", "loadtests/", "--headless", "--processes", "2", *serving(port), *joining(port),
                     "--shape", "none", "-u", "4", "-r", "4", "-t", locust.cap, *QUICK, *LENIENT)  # fmt: skip
    assert run.returncode == 0, str(run)
    assert "to 2 ready workers" in run.output, str(run)
    assert run.requests.get(("pg", "record enhancement")), str(run)
    assert run.requests.get(("redis", "session check")), str(run)


def test_a_master_and_a_separately_started_worker_run_the_mix(locust: Locust) -> None:
    port = str(free_port())
    worker = locust.start("-f", "loadtests/", "--worker", *joining(port))
    try:
        run = locust.run("-f", "loadtests/", "--headless", "--master", *serving(port), "--expect-workers", "1",
                         "--expect-workers-max-wait", str(math.ceil(locust.hang)),
                         "--shape", "none", "-u", "2", "-r", "2", "-t", locust.cap, *QUICK, *LENIENT)  # fmt: skip
        assert run.returncode == 0, str(run)
        assert run.requests.get(("redis", "session check")), str(run)
        worker.wait(timeout=locust.hang)  # the master's quit ends it
    finally:
        worker.kill()
        worker.communicate()
