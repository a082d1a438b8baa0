"""Vector search on clustered 768-d embeddings: recall@10 against exact search, and latency, for
HNSW at several ef_search and IVFFlat (lists = 100) at several probes; index build times.

    HARNESS_BENCH_VECTORS=100000 pytest suites/betterprompts/benchmarks/test_vector_search.py
Each index's sweep lands in `extra_info`; each is then timed at the cheapest setting whose
recall@10 reaches 0.95, in rounds alternating with exact scan on a second connection (one paired
benchmark per index, group `vector-search-<index>`), so the ratio is the speed-up. Under xdist it runs once
on 2,000 vectors.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from betterprompts_db.data.postgres.codecs import register_codecs
from betterprompts_db.seed.vectors import ClusterSpace
from harness.pytest_plugin import Database
from suites.betterprompts.benchmarks._support import QUICK, Side, measure_pair, rounds

QUERIES = 50
K = 10
EF_SEARCH = [10, 20, 40, 80, 100, 120, 160]
PROBES = [1, 2, 5, 10, 20]
TARGET_RECALL = 0.95


def vector_count(benchmark: BenchmarkFixture) -> int:
    if benchmark.disabled:
        return 2000
    return int(os.environ.get("HARNESS_BENCH_VECTORS", "10000" if QUICK else "100000"))


@pytest.fixture
def corpus(
    settled_database: Database, loop: asyncio.AbstractEventLoop, benchmark: BenchmarkFixture
) -> Iterator[dict[str, Any]]:
    """`n` clustered vectors loaded without an index, the queries, and exact top-k as truth."""
    n = vector_count(benchmark)
    space = ClusterSpace(seed=7, clusters=50, dimension=768)
    rng = np.random.default_rng(7)
    vectors = space.points(0, rng.integers(0, 50, size=n).tolist())
    queries = space.points(1, rng.integers(0, 50, size=QUERIES).tolist())

    async def load() -> tuple[asyncpg.Connection, list[set[Any]], list[float]]:
        conn = await asyncpg.connect(settled_database.dsn)
        await register_codecs(conn)
        await conn.execute("DROP INDEX prompts.embeddings_embedding_hnsw_idx")
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.copy_records_to_table(
            "embeddings", schema_name="prompts", columns=("source_type", "source_id", "embedding", "model_version"),
            records=[("template", uuid.uuid4(), v, "bench") for v in vectors],
        )  # fmt: skip
        await conn.execute("ANALYZE prompts.embeddings")
        truth, latencies = [], []
        for q in queries:
            started = time.perf_counter()
            rows = await conn.fetch(EXACT, q, K)
            latencies.append((time.perf_counter() - started) * 1000)
            truth.append({r[0] for r in rows})
        return conn, truth, latencies

    conn, truth, exact_ms = loop.run_until_complete(load())
    yield {"conn": conn, "queries": queries, "truth": truth, "exact_ms": exact_ms, "n": n, "dsn": settled_database.dsn}
    loop.run_until_complete(conn.close())


EXACT = "SELECT id FROM prompts.embeddings ORDER BY embedding <=> $1 LIMIT $2"


async def sweep(
    conn: asyncpg.Connection, setting: str, values: list[int], queries: Any, truth: list[set[Any]]
) -> list[dict[str, float]]:
    results = []
    for value in values:
        await conn.execute(f"SET {setting} = {int(value)}")
        hits, latencies = 0, []
        for q, expected in zip(queries, truth, strict=True):
            started = time.perf_counter()
            rows = await conn.fetch(EXACT, q, K)
            latencies.append((time.perf_counter() - started) * 1000)
            hits += len(expected & {r[0] for r in rows})
        p50, p95 = statistics.median(latencies), float(np.percentile(latencies, 95))
        results.append({setting: value, "recall@10": hits / (K * len(queries)), "p50_ms": p50, "p95_ms": p95})
    return results


async def build(conn: asyncpg.Connection, sql: str) -> float:
    started = time.perf_counter()
    await conn.execute(sql)
    return time.perf_counter() - started


@pytest.mark.parametrize("method", ["hnsw", "ivfflat"])
def test_vector_search_recall_and_latency(
    benchmark: BenchmarkFixture, corpus: dict[str, Any], loop: asyncio.AbstractEventLoop, method: str
) -> None:
    conn: asyncpg.Connection = corpus["conn"]
    queries, truth = corpus["queries"], corpus["truth"]
    benchmark.group = f"vector-search-{method}"
    benchmark.extra_info.update(vectors=corpus["n"], exact_p50_ms=statistics.median(corpus["exact_ms"]))
    setting, values, sql = INDEXES[method]
    benchmark.extra_info["build_s"] = loop.run_until_complete(build(conn, sql))
    # the index at every setting: pgvector costs a small ef_search above a scan of few rows
    loop.run_until_complete(conn.execute("SET enable_seqscan = off"))
    found = loop.run_until_complete(sweep(conn, setting, values, queries, truth))
    # the cheapest setting that reaches the target: recall is exact arithmetic, so this choice is
    # the same on a busy machine, where choosing by the sweep's own latencies was not
    good = [r for r in found if r["recall@10"] >= TARGET_RECALL]
    chosen = good[0] if good else max(found, key=lambda r: r["recall@10"])
    benchmark.extra_info.update(setting=setting, sweep=found, chosen=chosen[setting])
    assert chosen["recall@10"] > 0.5  # a broken index is not a benchmark result
    loop.run_until_complete(conn.execute(f"SET {setting} = {int(chosen[setting])}"))
    exact = loop.run_until_complete(asyncpg.connect(corpus["dsn"]))
    try:
        loop.run_until_complete(register_codecs(exact))
        loop.run_until_complete(exact.execute("SET enable_indexscan = off"))
        measure_pair(
            benchmark, queries_side(f"test_vector_search_recall_and_latency[{method}]", conn, queries, loop),
            queries_side(f"test_vector_search_recall_and_latency[exact-{method}]", exact, queries, loop),
            pairs=rounds(5, 3),
        )  # fmt: skip
    finally:
        loop.run_until_complete(exact.close())


def queries_side(name: str, conn: asyncpg.Connection, queries: Any, loop: asyncio.AbstractEventLoop) -> Side:
    """A round: every query once, top-K, on `conn` (its settings choose index or exact scan)."""

    async def run() -> None:
        for q in queries:
            await conn.fetch(EXACT, q, K)

    return Side(name, len(queries), lambda: loop.run_until_complete(run()))


HNSW = (
    "CREATE INDEX embeddings_hnsw_bench ON prompts.embeddings"
    " USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
)
IVFFLAT = (
    "CREATE INDEX embeddings_ivfflat_bench ON prompts.embeddings"
    " USING ivfflat (embedding vector_cosine_ops) WITH (lists = 100)"
)
INDEXES = {"hnsw": ("hnsw.ef_search", EF_SEARCH, HNSW), "ivfflat": ("ivfflat.probes", PROBES, IVFFLAT)}
