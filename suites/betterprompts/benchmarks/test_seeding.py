"""Seeding speed, beside PostgreSQL's own tools on the same server, measured side by side in one run:

* seeding (`load` profile, end to end) against `pgbench -i` (group `seeding`);
* the same seed's load with its secondary indexes deferred (its COPYs, with the foreign-key checks
  and the triggers the seed writes itself skipped: all but making the rows and building the
  indexes) against `pgbench -i` (group `seeding-deferred`); with the making, in extra_info, and
  the same in bytes/s: the tables' bytes written per second (heap and TOAST, no index), the seed's
  rows being wide (768-d vectors, text, jsonb) where pgbench's are narrow;
* the floor: the seed's own binary COPY streams of the same bulk load, made and encoded once
  beforehand, replayed by COPY alone (no client cost at all) against `pgbench -i` (group
  `seeding-floor`): how far the deferred load could get for rows as wide as the seed's;
* the seed's index builds against a bare `CREATE INDEX` of each same index on the same rows, with
  the server's default settings (group `seeding-index-builds`; each index's ratio in extra_info).

One seed and one pgbench run, back to back (the bare HNSW build alone takes minutes); the quick pass
alternates three of each (seed, pgbench, seed, …), so a moment's load on a shared machine moves one
round, not the ratio. Run as its own invocation (pytest-benchmark does not time under xdist):
    pytest suites/betterprompts/benchmarks/test_seeding.py
Under `pytest -n auto` it runs once, untimed, at a tiny scale as a smoke test. The profiles' cost
and peak memory (`large` too: minutes) are measured in the full pass only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from betterprompts_db.data.postgres.codecs import register_codecs
from betterprompts_db.seed import SeedReport, WorldWriter, seed
from betterprompts_db.seed.loader import (
    CREATE_PARTITIONS,
    SEEDED_SCHEMAS,
    Loader,
    Prepared,
    TableLoad,
    drop_secondary_indexes,
    seeded_tables,
    skippable_triggers,
    truncate,
)
from betterprompts_db.settings import BetterPromptsSettings
from harness.config import Settings
from harness.isolation import RunState
from harness.plugins import plugin_settings
from harness.provision import Endpoints
from harness.provision.databases import create_database, drop_database
from harness.provision.embedded import pg_bin_dir
from suites.betterprompts.benchmarks._support import QUICK, Side, measure_pair, rounds, side_name

pytestmark = pytest.mark.timeout(3600)  # `large` takes minutes; each seed guards nothing else

SMOKE_SCALE = 0.01
PGBENCH_ROWS_PER_SCALE = 100_000 + 10 + 1  # accounts, tellers, branches
PROFILES = ("minimal", "demo", "load", "large")


class Databases:
    """Databases cloned from the run's template, each dropped at the end."""

    def __init__(self, loop: asyncio.AbstractEventLoop, endpoints: Endpoints, template: str) -> None:
        self.loop, self.endpoints, self.template = loop, endpoints, template
        self.names: list[str] = []

    def create(self) -> str:
        name = f"hx_seedbench_{secrets.token_hex(4)}"
        self.names.append(name)
        self.admin(lambda conn: create_database(conn, name, self.template))
        return self.endpoints.postgres_dsn(name)

    def drop_all(self) -> None:
        async def drop(conn: asyncpg.Connection) -> None:
            for name in self.names:
                await drop_database(conn, name)

        self.admin(drop)

    def admin(self, do: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
        async def execute() -> None:
            conn = await asyncpg.connect(self.endpoints.postgres)
            try:
                await do(conn)
            finally:
                await conn.close()

        self.loop.run_until_complete(execute())


def pgbench_initialise(dsn: str, scale: int) -> None:
    """`pgbench -i -s scale`: client-side generation, COPY, vacuum, primary keys."""
    subprocess.run([str(pg_bin_dir() / "pgbench"), "-i", "-q", "-s", str(scale), dsn], check=True, capture_output=True)


TABLE_BYTES = """
SELECT COALESCE(sum(pg_table_size(c.oid)), 0)::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind = 'r'
"""  # heap, TOAST and their maps; no index (partitions are tables of their own: counted, parents not)


async def table_bytes(dsn: str, schemas: list[str]) -> int:
    """The bytes of the tables of `schemas`, without their indexes."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(TABLE_BYTES, schemas))
    finally:
        await conn.close()


async def bare_index_builds(dsn: str, indexes: list[str]) -> dict[str, float]:
    """Seconds of a plain `CREATE INDEX` of each of `indexes` (under another name) on the rows they
    index, with the server's default settings; each copy is dropped after."""
    conn = await asyncpg.connect(dsn)
    try:
        seconds = {}
        for index in indexes:
            definition = await conn.fetchval("SELECT pg_get_indexdef($1::regclass)", index)
            short = index.split(".")[-1]
            bare = re.sub(rf"^CREATE (UNIQUE )?INDEX {short} ON (ONLY )?", r"CREATE \1INDEX bare_copy ON ", definition)
            started = time.perf_counter()
            await conn.execute(bare)
            seconds[index] = time.perf_counter() - started
            await conn.execute(f"DROP INDEX {index.split('.')[0]}.bare_copy")
        return seconds
    finally:
        await conn.close()


@dataclass
class Runs:
    """`pairs` of a `load` seed and a `pgbench -i` at about its row count, alternating, and the bare
    builds of the seed's indexes on each seeded database. One pair in the full pass: the bare HNSW
    build (the server's default maintenance_work_mem) takes minutes."""

    scale: float
    pgbench_scale: int
    databases: Databases
    settings: Settings
    pairs: int
    seeds: list[SeedReport] = field(default_factory=list)
    pgbench: list[float] = field(default_factory=list)
    bare: list[dict[str, float]] = field(default_factory=list)
    seed_bytes: list[int] = field(default_factory=list)  # of the seeded tables, without indexes
    pgbench_bytes: list[int] = field(default_factory=list)

    def ensure(self) -> None:
        """Measure once; every test of the module reads the same runs."""
        while len(self.seeds) < self.pairs:
            self.seed()
            self.pgbench_round()

    def seed(self) -> None:
        target = self.databases.create()
        cost = plugin_settings(self.settings, BetterPromptsSettings).bcrypt_cost
        loading = seed(target, "load", scale=self.scale, seeds_dir=self.settings.seeds_dir, bcrypt_cost=cost)
        report = self.databases.loop.run_until_complete(loading)
        self.seeds.append(report)
        self.seed_bytes.append(self.databases.loop.run_until_complete(table_bytes(target, SEEDED_SCHEMAS)))
        self.bare.append(self.databases.loop.run_until_complete(bare_index_builds(target, list(report.index_builds))))

    def pgbench_round(self) -> None:
        target = self.databases.create()
        started = time.perf_counter()
        pgbench_initialise(target, self.pgbench_scale)
        self.pgbench.append(time.perf_counter() - started)
        self.pgbench_bytes.append(self.databases.loop.run_until_complete(table_bytes(target, ["public"])))

    @property
    def pgbench_rows(self) -> int:
        return self.pgbench_scale * PGBENCH_ROWS_PER_SCALE


@pytest.fixture(scope="module")
def runs(pytestconfig: pytest.Config, harness_run: RunState, harness_settings: Settings) -> Iterator[Runs]:
    untimed = hasattr(pytestconfig, "workerinput") or pytestconfig.getoption("benchmark_disable")
    loop = asyncio.new_event_loop()
    databases = Databases(loop, harness_run.endpoints, harness_run.template)
    scale = SMOKE_SCALE if untimed else rounds(1.0, 0.05)
    made = Runs(scale, 1 if untimed else rounds(6, 1), databases, harness_settings, 1 if untimed else rounds(1, 3))
    try:
        yield made
    finally:
        databases.drop_all()
        loop.close()


def paired(
    subject: str, subject_ops: int, subject_rounds: list[float], baseline: str, runs: Runs
) -> dict[str, dict[str, Any]]:
    return {
        "subject": {"name": subject, "ops_per_round": subject_ops, "rounds": subject_rounds},
        "baseline": {"name": baseline, "ops_per_round": runs.pgbench_rows, "rounds": runs.pgbench},
    }


@pytest.mark.benchmark(group="seeding")
def test_seeding_the_load_profile(benchmark: BenchmarkFixture, runs: Runs) -> None:
    benchmark.pedantic(runs.ensure, rounds=1, iterations=1)
    report = runs.seeds[-1]
    assert report.inserted == report.expected
    benchmark.extra_info.update(
        profile=f"load x{runs.scale:g}",
        pgbench_scale=runs.pgbench_scale,
        generate_seconds=round(report.generate_seconds, 2),
        load_seconds=round(report.load_seconds, 2),
        index_seconds=round(sum(report.index_builds.values()), 2),
        paired=paired(
            "test_seeding_the_load_profile", report.rows_inserted,
            [r.generate_seconds + r.load_seconds for r in runs.seeds], "test_pgbench_initialise", runs,
        ),
    )  # fmt: skip


@pytest.mark.benchmark(group="seeding-deferred")
def test_seeding_the_load_profile_indexes_deferred(benchmark: BenchmarkFixture, runs: Runs) -> None:
    """The load phase (COPY into tables without their secondary indexes) against pgbench's whole
    `-i`; generating the rows first is extra_info (`with_generation_ratio`): Python draws every value.
    `bytes_ratio`: the same pairs in table bytes written per second (the median pair's), the same
    work whatever the width of a row."""
    benchmark.pedantic(runs.ensure, rounds=1, iterations=1)
    report = runs.seeds[-1]
    copying = [r.load_seconds - sum(r.index_builds.values()) for r in runs.seeds]
    assert report.index_builds, "a bulk load into an empty database builds its secondary indexes last"
    assert all(seconds > 0 for seconds in copying)
    rows_per_second = report.rows_inserted / copying[-1]
    benchmark.extra_info.update(
        profile=f"load x{runs.scale:g}",
        copy_rows_per_second=round(rows_per_second),
        with_generation_rows_per_second=round(report.rows_inserted / report.deferred_seconds),
        with_generation_ratio=round(
            report.rows_inserted / report.deferred_seconds / (runs.pgbench_rows / runs.pgbench[-1]), 4
        ),
        copy_seconds=round(sum(t.seconds for t in report.tables.values()), 3),  # the COPYs alone; the
        # rest of the load is round trips: truncate, drop indexes, partitions, roles, commit
        table_mb_per_second=round(runs.seed_bytes[-1] / copying[-1] / 2**20, 1),
        pgbench_table_mb_per_second=round(runs.pgbench_bytes[-1] / runs.pgbench[-1] / 2**20, 1),
        bytes_ratio=round(statistics.median(
            seed_bytes / seconds / (pgbench_bytes / pgbench_seconds)
            for seed_bytes, seconds, pgbench_bytes, pgbench_seconds
            in zip(runs.seed_bytes, copying, runs.pgbench_bytes, runs.pgbench, strict=True)
        ), 4),
        paired=paired(
            "test_seeding_the_load_profile_indexes_deferred", report.rows_inserted, copying,
            "test_pgbench_initialise", runs,
        ),
    )  # fmt: skip


@pytest.mark.benchmark(group="seeding-index-builds")
def test_seeding_index_builds(benchmark: BenchmarkFixture, runs: Runs) -> None:
    """Every index the seed built after its load, against a bare CREATE INDEX of it on the same rows:
    the same work, only maintenance_work_mem may differ. Per index in extra_info (`index_ratios`)."""
    benchmark.pedantic(runs.ensure, rounds=1, iterations=1)
    builds = runs.seeds[-1].index_builds
    assert set(runs.bare[-1]) == set(builds)
    benchmark.extra_info.update(
        index_seconds={name: round(s, 3) for name, s in builds.items()},
        index_ratios={name: round(runs.bare[-1][name] / s, 3) for name, s in builds.items()},
        paired={
            "subject": {"name": "test_seeding_index_builds[seed]", "ops_per_round": len(builds),
                        "rounds": [sum(r.index_builds.values()) for r in runs.seeds]},
            "baseline": {"name": "test_seeding_index_builds[bare]", "ops_per_round": len(builds),
                         "rounds": [sum(b.values()) for b in runs.bare]},
        },
    )  # fmt: skip


@dataclass(frozen=True)
class Captured:
    """A bulk load's COPYs as the seed made and encoded them (`Loader.prepare_bulk`), in its order,
    for the seed's tables and history months."""

    tables: list[str]
    months: list[dt.date]
    batches: list[Prepared]

    @property
    def rows(self) -> int:
        return sum(prepared.rows for prepared in self.batches)

    @property
    def by_table(self) -> dict[str, int]:
        rows: dict[str, int] = {}
        for prepared in self.batches:
            rows[prepared.table] = rows.get(prepared.table, 0) + prepared.rows
        return rows

    @property
    def copy_bytes(self) -> int:
        return sum(len(chunk) for p in self.batches for copy in p.copies for chunk in copy.stream or ())


async def capture_bulk_load(dsn: str, writer: WorldWriter) -> Captured:
    """Make and encode every batch of `writer`'s world as a bulk load into the database at `dsn`
    (migrated, empty) would, without sending any."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await seeded_tables(conn)
        loader = Loader(conn, lambda line: None, tables)
        await loader.load_types()
        triggers = await skippable_triggers(conn, tables)
        batches = [loader.prepare_bulk(batch, triggers) for batch in writer.batches()]
        return Captured(tables, writer.world.history_month_starts(), batches)
    finally:
        await conn.close()


async def counted_rows(dsn: str, tables: list[str]) -> dict[str, int]:
    """`count(*)` of each of `tables`, by table."""
    conn = await asyncpg.connect(dsn)
    try:
        return {table: int(await conn.fetchval(f"SELECT count(*) FROM {table}")) for table in tables}
    finally:
        await conn.close()


async def replay_bulk_load(dsn: str, captured: Captured) -> None:
    """The bulk load's COPYs alone, already encoded, as it sends them: one transaction, the tables
    truncated and without their secondary indexes, each batch under its session_replication_role;
    no index built after."""
    conn = await asyncpg.connect(dsn)
    try:
        await register_codecs(conn)  # for a table whose COPY goes as records
        loader = Loader(conn, lambda line: None, captured.tables)
        async with conn.transaction():
            await truncate(conn, captured.tables)
            await drop_secondary_indexes(conn, captured.tables)
            await conn.execute(CREATE_PARTITIONS, captured.months)
            role = "origin"
            for prepared in captured.batches:
                if (wanted := "replica" if prepared.replica else "origin") != role:
                    await conn.execute(f"SET LOCAL session_replication_role = {wanted}")
                    role = wanted
                await loader.send(prepared, TableLoad())
    finally:
        await conn.close()


@pytest.mark.benchmark(group="seeding-floor")
def test_seeding_floor(benchmark: BenchmarkFixture, runs: Runs) -> None:
    """The seed's bulk load, its COPY streams made and encoded beforehand by the seed's own code,
    replayed by COPY alone against `pgbench -i`, pairs alternating on the same server: the server's
    share of the deferred load, the most any client could reach. In extra_info: the ratio in rows/s
    (`rows_ratio`) and in table bytes written per second (`bytes_ratio`, heap and TOAST, no index),
    each the median pair's; rows, MB of COPY data and of tables."""
    untimed = benchmark.disabled
    scale = SMOKE_SCALE if untimed else rounds(0.25, 0.05)
    pgbench_scale = 1 if untimed else rounds(2, 1)
    cost = plugin_settings(runs.settings, BetterPromptsSettings).bcrypt_cost
    writer = WorldWriter(runs.settings.seeds_dir, "load", scale, cost)
    loop = runs.databases.loop
    replayed, pgbenched = runs.databases.create(), runs.databases.create()
    captured = loop.run_until_complete(capture_bulk_load(replayed, writer))
    pgbench_rows = pgbench_scale * PGBENCH_ROWS_PER_SCALE
    measure_pair(
        benchmark,
        Side(
            side_name(benchmark.name, "replay"),
            captured.rows,
            lambda: loop.run_until_complete(replay_bulk_load(replayed, captured)),
        ),
        Side(side_name(benchmark.name, "pgbench"), pgbench_rows, lambda: pgbench_initialise(pgbenched, pgbench_scale)),
        pairs=1 if untimed else rounds(5, 3),
        warmup_pairs=0 if untimed else 1,
    )  # each side reuses its database: pgbench -i drops and recreates its tables, the replay truncates
    seed_bytes = loop.run_until_complete(table_bytes(replayed, SEEDED_SCHEMAS))
    pgbench_bytes = loop.run_until_complete(table_bytes(pgbenched, ["public"]))
    assert loop.run_until_complete(counted_rows(replayed, list(captured.by_table))) == captured.by_table
    paired = benchmark.extra_info["paired"]
    ratios = [(captured.rows / s) / (pgbench_rows / b)
              for s, b in zip(paired["subject"]["rounds"], paired["baseline"]["rounds"], strict=True)]  # fmt: skip
    bytes_per_row = seed_bytes / captured.rows, pgbench_bytes / pgbench_rows  # the seed's: with its request ids
    benchmark.extra_info.update(
        profile=f"load x{scale:g}",
        pgbench_scale=pgbench_scale,
        rows=captured.rows,
        copy_mb=round(captured.copy_bytes / 2**20, 1),
        table_mb=round(seed_bytes / 2**20, 1),
        pgbench_table_mb=round(pgbench_bytes / 2**20, 1),
        table_bytes_per_row=[round(b) for b in bytes_per_row],  # the seed's, pgbench's
        replay_seconds=[round(s, 3) for s in paired["subject"]["rounds"]],
        pgbench_seconds=[round(s, 3) for s in paired["baseline"]["rounds"]],
        rows_ratio=round(statistics.median(ratios), 4),
        bytes_ratio=round(statistics.median(ratio * seed_bytes / captured.rows / (pgbench_bytes / pgbench_rows)
                                            for ratio in ratios), 4),
    )  # fmt: skip


@dataclass(frozen=True)
class ProfileRun:
    """One `harness seed` process: rows it inserted, its own seconds for them, its peak memory."""

    rows: int
    seconds: float
    peak_rss_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def seed_in_a_process(dsn: str, profile: str, seeds_dir: Path, scratch: Path) -> ProfileRun:
    """`harness seed --profile P` in a process of its own, so its ru_maxrss is the seeder's alone
    (bcrypt at its cheapest: the cost measured is the rows')."""
    out, err = scratch / f"{profile}.out", scratch / f"{profile}.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("harness")), "seed", "--profile", profile, "--dsn", dsn,
             "--seeds", str(seeds_dir)],
            stdout=stdout, stderr=stderr, env={**os.environ, "HARNESS_BCRYPT_COST": "4"},
        )  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)  # the child's own rusage, not every child's
        process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, err.read_text()
    found = re.search(r": (\d+) rows inserted in ([\d.]+) s", out.read_text())
    assert found, out.read_text()
    return ProfileRun(int(found[1]), float(found[2]), usage.ru_maxrss / 1024)  # KiB on Linux


@pytest.mark.skipif(QUICK, reason="`large` takes minutes: the full pass (make bench) runs it, not the quick one")
@pytest.mark.benchmark(group="seeding-profiles")
def test_seeding_profiles(benchmark: BenchmarkFixture, runs: Runs, tmp_path: Path) -> None:
    """Every profile seeded by `harness seed` into a fresh database: rows/s and peak memory of each
    (extra_info), and `large`'s rows/s against `load`'s as the ratio (1.0: cost grows linearly).
    Untimed (xdist), minimal and demo only."""
    profiles = PROFILES[:2] if benchmark.disabled else PROFILES
    measured: dict[str, ProfileRun] = {}

    def seed_each() -> None:
        for profile in profiles:
            target = runs.databases.create()
            measured[profile] = seed_in_a_process(target, profile, runs.settings.seeds_dir, tmp_path)

    benchmark.pedantic(seed_each, rounds=1, iterations=1)
    benchmark.extra_info["profiles"] = {
        name: {"rows": run.rows, "seconds": run.seconds, "rows_per_second": round(run.rows_per_second),
               "peak_rss_mb": round(run.peak_rss_mb)}
        for name, run in measured.items()
    }  # fmt: skip
    if "large" in measured:
        large, load = measured["large"], measured["load"]
        assert large.rows > 9 * load.rows
        assert large.peak_rss_mb < 5 * load.peak_rss_mb  # ten times the rows, made in batches
        benchmark.extra_info["paired"] = {
            "subject": {"name": "test_seeding_profiles[large]", "ops_per_round": large.rows, "rounds": [large.seconds]},
            "baseline": {"name": "test_seeding_profiles[load]", "ops_per_round": load.rows, "rounds": [load.seconds]},
        }
