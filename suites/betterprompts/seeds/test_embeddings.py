"""Embeddings look like text embeddings: 768-d unit vectors in topic clusters, linked to their sources."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import numpy as np

from betterprompts_db.data.postgres.codecs import register_codecs
from betterprompts_db.seed import seed
from harness.pytest_plugin import Database
from suites.betterprompts.seeds.database import fetch


async def read_embeddings(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        await register_codecs(conn)
        return list(
            await conn.fetch(
                "SELECT source_type, source_id, user_id, intent, embedding,"
                " (metadata->>'topic_cluster')::int AS cluster FROM prompts.embeddings ORDER BY id"
            )
        )
    finally:
        await conn.close()


async def test_embeddings_are_768_dimensional_unit_vectors_in_tight_topic_clusters(
    fresh_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "load", scale=0.01, seeds_dir=seeds_dir, bcrypt_cost=4)
    rows = await read_embeddings(fresh_database.dsn)
    vectors = np.stack([r["embedding"] for r in rows])
    labels = np.array([r["cluster"] for r in rows])
    assert vectors.shape == (len(rows), 768)
    assert len(rows) > 1000
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    clusters = np.unique(labels)
    assert len(clusters) == 50

    centroids = np.stack([vectors[labels == c].mean(axis=0) for c in clusters])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    similarity = vectors @ centroids.T
    own = similarity[np.arange(len(rows)), np.searchsorted(clusters, labels)]
    similarity[np.arange(len(rows)), np.searchsorted(clusters, labels)] = -1
    nearest_other = similarity.max(axis=1)
    assert own.mean() > 0.7  # uniform noise in 768 dimensions would sit near 0
    assert own.mean() - nearest_other.mean() > 0.3
    assert (own > nearest_other).mean() > 0.99

    pairwise = vectors @ vectors.T
    np.fill_diagonal(pairwise, -1)
    neighbour = pairwise.argmax(axis=1)
    assert (labels[neighbour] == labels).mean() > 0.95
    across = pairwise[labels[:, None] != labels[None, :]]
    assert 0.05 < across.mean() < 0.3  # anisotropic like real embeddings, yet far below within-cluster


async def test_embeddings_point_at_their_history_rows_templates_and_patterns(
    fresh_database: Database, seeds_dir: Path
) -> None:
    report = await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=4)
    linked = await fetch(
        fresh_database.dsn,
        """SELECT e.source_type, count(*) AS total,
                  count(*) FILTER (WHERE coalesce(h.id, t.id, p.id) IS NOT NULL) AS found,
                  count(*) FILTER (WHERE e.source_type = 'history'
                                   AND (e.user_id IS DISTINCT FROM h.user_id OR e.intent <> h.intent)) AS mismatched
           FROM prompts.embeddings e
           LEFT JOIN prompts.history h ON e.source_type = 'history' AND h.id = e.source_id
           LEFT JOIN prompts.templates t ON e.source_type = 'template' AND t.id = e.source_id
           LEFT JOIN prompts.intent_patterns p ON e.source_type = 'intent_pattern' AND p.id = e.source_id
           GROUP BY 1 ORDER BY 1""",
    )
    by_type = {r["source_type"]: (r["total"], r["found"], r["mismatched"]) for r in linked}
    assert by_type == {
        "history": (report.expected["prompts.history"], report.expected["prompts.history"], 0),
        "intent_pattern": (100, 100, 0),
        "template": (report.expected["prompts.templates"], report.expected["prompts.templates"], 0),
    }


async def test_nearest_neighbours_through_the_hnsw_index_share_the_query_intent(
    fresh_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=4)
    conn = await asyncpg.connect(fresh_database.dsn)
    try:
        await conn.execute("SET enable_seqscan = off")
        plan = await conn.fetch(
            "EXPLAIN SELECT id FROM prompts.embeddings ORDER BY embedding <=> (SELECT embedding FROM"
            " prompts.embeddings LIMIT 1) LIMIT 10"
        )
        assert "embeddings_embedding_hnsw_idx" in "\n".join(line for (line,) in plan)
        agreement = await conn.fetchval(
            """SELECT avg((n.intent = q.intent)::int) FROM
                 (SELECT id, intent, embedding FROM prompts.embeddings WHERE source_type = 'history'
                  ORDER BY id LIMIT 20) q,
                 LATERAL (SELECT intent FROM prompts.embeddings e WHERE e.id <> q.id
                          ORDER BY e.embedding <=> q.embedding LIMIT 10) n"""
        )
    finally:
        await conn.close()
    assert agreement > 0.9
