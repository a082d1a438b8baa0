"""Enhancements, feedback, the library, similarity search and the daily roll-up."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import numpy as np
import pytest

from betterprompts_db.data.errors import Conflict, InvalidInput, NotFound
from betterprompts_db.data.postgres import DataLayer, Enhancement

DIM = 768


def unit(rng: np.random.Generator, center: np.ndarray | None = None, spread: float = 0.05) -> np.ndarray:
    v = rng.normal(size=DIM) if center is None else center + rng.normal(scale=spread, size=DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def enhancement(user_id: uuid.UUID, **overrides: Any) -> Enhancement:
    values: dict[str, Any] = dict(
        user_id=user_id, request_id=f"req-{uuid.uuid4().hex}", original_input="sort a list",
        enhanced_output="Let's think step by step.", intent="code_generation", intent_confidence=0.9,
        techniques_used=["chain_of_thought", "few_shot"], processing_time_ms=120,
    )  # fmt: skip
    return Enhancement(**{**values, **overrides})


async def register(layer: DataLayer, name: str) -> Any:
    return await layer.auth.register(email=f"{name}@example.com", username=name, password="pw")


async def test_an_enhancement_writes_history_embedding_and_counters_together(
    data: DataLayer, owner_data: DataLayer
) -> None:
    user = await register(data, "kim")
    vector = unit(np.random.default_rng(1))
    entry = await data.prompts.record_enhancement(enhancement(user.id, embedding=vector))
    embedding = (await owner_data.repos.embeddings.list(filters={"source_id": entry.id})).items[0]
    assert np.allclose(embedding.embedding, vector)
    counters = (await owner_data.repos.technique_effectiveness.list()).items
    assert {(c.technique, c.total_count, c.success_count) for c in counters} == {
        ("chain_of_thought", 1, 0), ("few_shot", 1, 0)}  # fmt: skip


async def test_a_failed_enhancement_leaves_no_trace(data: DataLayer, owner_data: DataLayer) -> None:
    user = await register(data, "lee")
    first = enhancement(user.id)
    await data.prompts.record_enhancement(first)
    with pytest.raises(Conflict, match="history_request_id_key"):
        await data.prompts.record_enhancement(enhancement(user.id, request_id=first.request_id,
                                                              embedding=unit(np.random.default_rng(2))))  # fmt: skip
    with pytest.raises(InvalidInput) as bad:
        await data.prompts.record_enhancement(enhancement(user.id, embedding=[0.1, 0.2]))
    assert bad.value.field == "embedding"
    assert await owner_data.db.fetchval("n", "SELECT count(*) FROM prompts.history") == 1
    assert await owner_data.db.fetchval("n", "SELECT count(*) FROM prompts.embeddings") == 0
    assert await owner_data.db.fetchval("n", "SELECT sum(total_count) FROM analytics.technique_effectiveness") == 2


async def test_concurrent_enhancements_count_every_technique_use(data: DataLayer, owner_data: DataLayer) -> None:
    user = await register(data, "mo_concurrent")
    await asyncio.gather(*(data.prompts.record_enhancement(enhancement(user.id)) for _ in range(40)))
    counters = (await owner_data.repos.technique_effectiveness.list()).items
    assert sorted(c.total_count for c in counters) == [40, 40]


async def test_good_feedback_counts_a_success_once(data: DataLayer, owner_data: DataLayer) -> None:
    user = await register(data, "nia")
    entry = await data.prompts.record_enhancement(enhancement(user.id, techniques_used=["few_shot"]))
    await data.prompts.record_feedback(user.id, entry.id, 5, "great")
    await data.prompts.record_feedback(user.id, entry.id, 4)
    counter = (await owner_data.repos.technique_effectiveness.list()).items[0]
    assert (counter.success_count, counter.total_count) == (1, 1)
    with pytest.raises(InvalidInput, match="feedback_score"):
        await data.prompts.record_feedback(user.id, entry.id, 6)
    other = await register(data, "oto")
    with pytest.raises(NotFound):  # RLS: another user's history does not exist for them
        await data.prompts.record_feedback(other.id, entry.id, 1)


async def test_sharing_and_ordered_collections(data: DataLayer) -> None:
    user = await register(data, "pat")
    async with data.db.transaction(user_id=user.id):
        saved = [await data.repos.saved_prompts.create(user_id=user.id, title=t, prompt_text=t) for t in "abc"]
        collection = await data.repos.collections.create(user_id=user.id, name="mine")
    token = await data.prompts.share_prompt(user.id, saved[0].id)
    shared = await data.prompts.find_shared(token)  # no acting user needed
    assert (shared.id, shared.title) == (saved[0].id, "a")
    with pytest.raises(NotFound):
        await data.prompts.find_shared("nope-nope-nope-nope")
    added = await asyncio.gather(*(data.prompts.add_to_collection(user.id, collection.id, s.id) for s in saved))
    assert sorted(a.position for a in added) == [0, 1, 2]
    order = [saved[2].id, saved[0].id, saved[1].id]
    await data.prompts.reorder_collection(user.id, collection.id, order)
    async with data.db.transaction(user_id=user.id):
        rows = (await data.repos.collection_prompts.list(filters={"collection_id": collection.id})).items
    assert [r.saved_prompt_id for r in sorted(rows, key=lambda r: r.position)] == order
    with pytest.raises(InvalidInput, match="exactly the prompts"):
        await data.prompts.reorder_collection(user.id, collection.id, order[:2])


async def test_similarity_search_finds_the_nearest_cluster_with_filters(data: DataLayer, owner_data: DataLayer) -> None:
    rng = np.random.default_rng(7)
    centers = [unit(rng) for _ in range(4)]
    owners = [(await register(data, f"sim{i}")).id for i in range(2)]
    rows = [{"source_type": "template", "source_id": uuid.uuid4(), "user_id": owners[i % 2],
             "intent": ["reasoning", "translation"][c % 2], "embedding": unit(rng, centers[c]), "model_version": "t"}
            for c in range(4) for i in range(50)]  # fmt: skip
    await owner_data.repos.embeddings.copy(rows)  # COPY is the owner's: RLS refuses it to bp_app
    query = unit(rng, centers[1], spread=0.01)
    exact = await owner_data.prompts.similar(query, k=10, exact=True)
    approx = await owner_data.prompts.similar(query, k=10, ef_search=100)
    assert len({m.source_id for m in exact} & {m.source_id for m in approx}) >= 9
    assert all(m.intent == "translation" for m in exact)  # cluster 1 is a translation cluster
    assert [m.distance for m in exact] == sorted(m.distance for m in exact)
    mine = await owner_data.prompts.similar(query, k=5, user_id=owners[0], intent="translation")
    assert len(mine) == 5
    assert {m.user_id for m in mine} == {owners[0]}
    async with data.db.transaction(user_id=owners[1]):  # as the application, a user finds only their own
        theirs = await data.prompts.similar(query, k=5, intent="translation")
    assert {m.user_id for m in theirs} == {owners[1]}
    with pytest.raises(InvalidInput, match="expected 768 dimensions"):
        await data.prompts.similar([1.0, 0.0], k=3)


async def test_daily_roll_up_summarises_the_day_idempotently(data: DataLayer, owner_data: DataLayer) -> None:
    user = await register(data, "quinn")
    entries = [await data.prompts.record_enhancement(enhancement(user.id, processing_time_ms=t)) for t in (100, 300)]
    await data.prompts.record_feedback(user.id, entries[0].id, 5)
    day = entries[0].created_at.date()
    stats = await owner_data.analytics.roll_up_day(day)
    assert (stats.total_enhancements, stats.unique_users, stats.new_users) == (2, 1, 1)
    assert stats.technique_breakdown == {"chain_of_thought": 2, "few_shot": 2}
    assert stats.intent_breakdown == {"code_generation": 2}
    again = await owner_data.analytics.roll_up_day(day)
    assert (again.id, again.total_enhancements) == (stats.id, 2)
    counter = (await owner_data.repos.technique_effectiveness.list(filters={"technique": "few_shot"})).items[0]
    assert float(counter.avg_feedback_score or 0) == 5.0
    assert counter.p95_processing_time_ms == pytest.approx(290.0)
