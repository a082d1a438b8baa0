"""The data layer beside raw asyncpg on the same pool and the same queries: each pair is one
benchmark whose rounds alternate `layer` and `raw` (`measure_layer_pair`); the figure that matters
is their ratio (target ≥ 0.85 of raw throughput). A round is a batch of LAYER_OPS operations awaited
on one long-lived loop, CONCURRENCY at a time; get by id is also swept over concurrency (its groups
are `pg-get-by-id c=N`).

    pytest suites/betterprompts/benchmarks/test_data_layer.py
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from betterprompts_db.data.postgres import DataLayer, Enhancement, connect
from harness.pytest_plugin import Database
from suites.betterprompts.benchmarks._support import QUICK, measure_layer_pair
from suites.betterprompts.conftest import HangGuards

CONCURRENCY = 8
SWEEP = [1, 8] if QUICK else [1, 2, 4, 8, 16]
USERS = 50


@pytest.fixture
def world(
    settled_database: Database, loop: asyncio.AbstractEventLoop, hang_guards: HangGuards
) -> Iterator[dict[str, Any]]:
    """A data layer with some users, history and embeddings, on the benchmark's loop. Its deadlines
    are the hang guard's: the set-up (COPY, VACUUM) is no measurement and must not fail on a busy
    machine."""

    async def build() -> dict[str, Any]:
        data = await connect(settled_database.dsn, hang_guards.pool(min_size=max(SWEEP), max_size=max(SWEEP)))
        rng = np.random.default_rng(0)
        users = [uuid.uuid4() for _ in range(USERS)]
        await data.repos.users.copy([{"id": u, "email": f"{u.hex}@e.co", "username": u.hex[:16],
                                      "password_hash": "$2b$04$" + "a" * 53} for u in users])  # fmt: skip
        history = [{"id": uuid.uuid4(), "user_id": users[i % USERS], "request_id": f"r{i}", "original_input": "in",
                    "enhanced_output": "out", "intent": "reasoning", "techniques_used": ["few_shot"]}
                   for i in range(2000)]  # fmt: skip
        await data.repos.history.copy(history)
        vectors = rng.normal(size=(2000, 768)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        await data.repos.embeddings.copy([{"source_type": "history", "source_id": h["id"], "user_id": h["user_id"],
                                           "intent": "reasoning", "embedding": v, "model_version": "b"}
                                          for h, v in zip(history, vectors, strict=True)])  # fmt: skip
        async with data.db.pool.acquire() as conn:  # now, rather than autovacuum during a measurement
            await conn.execute("VACUUM ANALYZE prompts.history, prompts.embeddings, auth.users")
        return {"data": data, "users": users, "history": [h["id"] for h in history], "rng": rng}

    built = loop.run_until_complete(build())
    yield built
    loop.run_until_complete(built["data"].close())


def measure(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    layer: Callable[[int], Awaitable[Any]],
    raw: Callable[[int], Awaitable[Any]],
    concurrency: int = CONCURRENCY,
) -> None:
    measure_layer_pair(benchmark, loop, layer, raw, concurrency=concurrency, warmup_pairs=2)


@pytest.mark.parametrize("concurrency", SWEEP)
def test_get_by_id(
    benchmark: BenchmarkFixture, world: dict[str, Any], loop: asyncio.AbstractEventLoop, concurrency: int
) -> None:
    benchmark.group = f"pg-get-by-id c={concurrency}"
    data: DataLayer = world["data"]
    ids = world["history"]

    async def raw(i: int) -> Any:
        async with data.db.pool.acquire() as conn:
            return await conn.fetchrow("SELECT * FROM prompts.history WHERE id = $1", ids[i % len(ids)])

    measure(benchmark, loop, lambda i: data.repos.history.get(ids[i % len(ids)]), raw, concurrency)


@pytest.mark.benchmark(group="pg-list-page")
def test_list_page(benchmark: BenchmarkFixture, world: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
    data: DataLayer = world["data"]
    users = world["users"]

    async def raw(i: int) -> Any:
        async with data.db.pool.acquire() as conn:
            return await conn.fetch(
                "SELECT * FROM prompts.history WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
                users[i % USERS], 21,
            )  # fmt: skip

    measure(benchmark, loop, lambda i: data.repos.history.list(filters={"user_id": users[i % USERS]}, limit=20), raw)


@pytest.mark.benchmark(group="pg-insert-history")
def test_insert_history(benchmark: BenchmarkFixture, world: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
    data: DataLayer = world["data"]
    users = world["users"]
    tag = uuid.uuid4().hex[:6]
    counter = iter(range(10**9))

    async def raw(i: int) -> Any:
        async with data.db.pool.acquire() as conn:
            return await conn.fetchrow(
                "INSERT INTO prompts.history (user_id, request_id, original_input, enhanced_output)"
                " VALUES ($1, $2, $3, $4) RETURNING *",
                users[i % USERS], f"{tag}-{next(counter)}", "in", "out",
            )  # fmt: skip

    measure(benchmark, loop, lambda i: data.repos.history.create(
        user_id=users[i % USERS], request_id=f"{tag}-{next(counter)}", original_input="in", enhanced_output="out",
    ), raw)  # fmt: skip


@pytest.mark.benchmark(group="pg-record-enhancement")
def test_record_enhancement(
    benchmark: BenchmarkFixture, world: dict[str, Any], loop: asyncio.AbstractEventLoop
) -> None:
    data: DataLayer = world["data"]
    users = world["users"]
    vector = world["rng"].normal(size=768).astype(np.float32)
    tag = uuid.uuid4().hex[:6]
    counter = iter(range(10**9))

    def enhancement(i: int) -> Enhancement:
        return Enhancement(user_id=users[i % USERS], request_id=f"{tag}-{next(counter)}", original_input="in",
                           enhanced_output="out", intent="reasoning", intent_confidence=0.9,
                           techniques_used=["few_shot"], processing_time_ms=10, embedding=vector)  # fmt: skip

    async def raw(i: int) -> Any:
        e = enhancement(i)
        async with data.db.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO prompts.history (user_id, request_id, original_input, enhanced_output, intent,"
                " intent_confidence, techniques_used, processing_time_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " RETURNING *", e.user_id, e.request_id, e.original_input, e.enhanced_output, e.intent,
                e.intent_confidence, e.techniques_used, e.processing_time_ms,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO prompts.embeddings (source_type, source_id, user_id, intent, embedding, model_version)"
                " VALUES ('history', $1, $2, $3, $4, 'unknown')", row["id"], e.user_id, e.intent, e.embedding,
            )  # fmt: skip
            await conn.execute("SELECT analytics.count_technique($1, $2, $3, $4, $5)", "few_shot", e.intent,
                               row["created_at"].date(), False, 10.0)  # fmt: skip

    measure(benchmark, loop, lambda i: data.prompts.record_enhancement(enhancement(i)), raw)


@pytest.mark.benchmark(group="pg-similarity-search")
def test_similarity_search(benchmark: BenchmarkFixture, world: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
    data: DataLayer = world["data"]
    query = world["rng"].normal(size=768).astype(np.float32)

    async def raw(i: int) -> Any:
        async with data.db.pool.acquire() as conn, conn.transaction(readonly=True):
            await conn.execute("SELECT set_config('hnsw.ef_search', '40', true)")
            return await conn.fetch(
                "SELECT source_type, source_id, user_id, intent, embedding <=> $1 AS distance"
                " FROM prompts.embeddings ORDER BY embedding <=> $1 LIMIT 10", query,
            )  # fmt: skip

    measure(benchmark, loop, lambda i: data.prompts.similar(query, k=10, ef_search=40), raw)
