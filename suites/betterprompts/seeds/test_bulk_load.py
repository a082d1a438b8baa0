"""A bulk load (an empty database) takes over work from the server: it skips foreign-key checks and
the request-id trigger, writing the registry itself, and builds secondary indexes after its COPYs.
These prove it leaves what an incremental load, with every check and trigger, leaves; and that
the world made in batches is the same whatever their size, in memory that does not grow with history."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest

from betterprompts_db.data.postgres.records import HistoryEntry
from betterprompts_db.seed import (
    Dataset,
    SeedConflict,
    SeedError,
    Table,
    WorldWriter,
    build_dataset,
    load_dataset,
    seed,
)
from betterprompts_db.seed.loader import Loader, seeded_tables, skippable_triggers
from harness.pytest_plugin import Database
from suites.betterprompts.seeds.database import dump_data, fetch
from suites.betterprompts.seeds.test_determinism import rows_by_table

COST = 4

FOREIGN_KEYS = """
SELECT c.conname, c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
       array_agg(a.attname ORDER BY k.n) AS columns, array_agg(b.attname ORDER BY k.n) AS referenced
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(child_column, parent_column, n)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.child_column
JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = k.parent_column
WHERE c.contype = 'f' AND c.connamespace::regnamespace::text IN ('auth', 'prompts', 'analytics')
  AND c.conparentid = 0  -- not the copies on partitions
GROUP BY c.conname, c.conrelid, c.confrelid
"""


async def test_a_bulk_load_leaves_the_rows_an_incremental_load_with_every_trigger_and_check_leaves(
    fresh_database: Database, another_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=COST)
    dataset = build_dataset(seeds_dir, "demo", cost=COST)
    await load_dataset(another_database.dsn, Dataset(dataset.world, dataset.profile, dataset.tables[:1]))
    loads = await load_dataset(another_database.dsn, dataset)  # users present: incremental, triggers on
    assert not any(load.index_builds for load in loads.values())
    bulk, incremental = (
        rows_by_table(await dump_data(fresh_database.dsn)),
        rows_by_table(await dump_data(another_database.dsn)),
    )
    registry = next(table for table in bulk if table.startswith("COPY prompts.history_request_ids "))
    assert len(bulk[registry]) == dataset.profile.history  # written by the seed, not the trigger
    assert bulk == incremental


async def test_every_foreign_key_holds_after_a_bulk_load_that_skipped_their_checks(
    fresh_database: Database, seeds_dir: Path
) -> None:
    report = await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=COST)
    assert "prompts.embeddings_embedding_hnsw_idx" in report.index_builds  # the bulk path ran
    keys = await fetch(fresh_database.dsn, FOREIGN_KEYS)
    assert len(keys) >= 15
    for key in keys:
        pairs = " AND ".join(f"p.{b} = c.{a}" for a, b in zip(key["columns"], key["referenced"], strict=True))
        present = " AND ".join(f"c.{a} IS NOT NULL" for a in key["columns"])
        orphans = await fetch(
            fresh_database.dsn,
            f"SELECT count(*) FROM {key['child']} c WHERE {present} "
            f"AND NOT EXISTS (SELECT FROM {key['parent']} p WHERE {pairs})",
        )
        assert orphans[0][0] == 0, key["conname"]


async def test_the_registry_the_seed_wrote_is_the_one_the_trigger_keeps(
    fresh_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST)
    await fetch(fresh_database.dsn, "UPDATE prompts.history SET request_id = 'req_renamed' WHERE request_id = "
                                    "(SELECT min(request_id) FROM prompts.history)")  # fmt: skip
    await fetch(fresh_database.dsn, "DELETE FROM prompts.history WHERE request_id = "
                                    "(SELECT max(request_id) FROM prompts.history)")  # fmt: skip
    mismatched = await fetch(
        fresh_database.dsn,
        """SELECT count(*) FROM (
               (SELECT request_id, id, created_at FROM prompts.history
                EXCEPT SELECT request_id, history_id, created_at FROM prompts.history_request_ids)
               UNION ALL
               (SELECT request_id, history_id, created_at FROM prompts.history_request_ids
                EXCEPT SELECT request_id, id, created_at FROM prompts.history)) d""",
    )
    assert mismatched == [(0,)]


class Failing:
    """A dataset's world, whose making fails after its first `tables`, or whose first table comes twice."""

    def __init__(self, dataset: Dataset, tables: int, twice: bool = False) -> None:
        self.dataset, self.tables, self.twice = dataset, tables, twice
        self.world = dataset.world

    def history_sample(self) -> list[HistoryEntry]:
        return self.dataset.history_sample()

    def batches(self) -> Iterator[Table[Any]]:
        if self.twice:
            yield from (self.dataset.tables[0], *self.dataset.tables)
        yield from self.dataset.tables[: self.tables]
        raise SeedError("making failed")


def makers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "seed-maker"]


@pytest.mark.parametrize("twice", [False, True], ids=["making fails", "a COPY fails"])
async def test_a_failed_bulk_load_leaves_nothing_and_no_maker_thread(
    fresh_database: Database, seeds_dir: Path, twice: bool
) -> None:
    dataset = build_dataset(seeds_dir, "minimal", cost=COST)
    with pytest.raises(SeedConflict if twice else SeedError, match="users" if twice else "making failed"):
        await load_dataset(fresh_database.dsn, Failing(dataset, 3, twice))
    assert await fetch(fresh_database.dsn, "SELECT count(*) FROM auth.users") == [(0,)]
    assert not makers()


def made(writer: WorldWriter, size: int) -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for batch in writer.batches(size):
        rows.setdefault(batch.qualified, []).extend(
            tuple(v.tobytes() if isinstance(v, np.ndarray) else repr(v) for v in (getattr(r, c) for c in batch.columns))
            for r in batch.rows
        )
    return {table: sorted(found) for table, found in rows.items()}


def test_the_world_made_in_small_batches_is_the_world_made_in_large_ones(seeds_dir: Path) -> None:
    small = made(WorldWriter(seeds_dir, "load", 0.03, COST), 1024)
    large = made(WorldWriter(seeds_dir, "load", 0.03, COST), 8 * 1024)
    assert len(small["prompts.history"]) == 6000
    assert small == large


def test_memory_grows_with_users_and_api_calls_not_with_the_whole_history(seeds_dir: Path) -> None:
    """Made in batches, a world four times larger costs a small part of what it costs whole."""

    def peak(make: Callable[[float], object], scale: float) -> int:
        tracemalloc.start()
        try:
            made = make(scale)
            for _ in made if isinstance(made, Iterator) else ():
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def batches(scale: float) -> Iterator[Table[Any]]:
        return WorldWriter(seeds_dir, "load", scale, COST).batches(1024)

    def whole(scale: float) -> Dataset:
        return build_dataset(seeds_dir, "load", scale, COST)

    streamed = peak(batches, 0.04) - peak(batches, 0.01)
    held = peak(whole, 0.04) - peak(whole, 0.01)
    assert 0 < streamed < held / 3


async def test_a_bulk_batch_skips_triggers_only_where_the_role_may_and_carries_what_they_would_write(
    fresh_database: Database, seeds_dir: Path
) -> None:
    batches = WorldWriter(seeds_dir, "minimal", 1.0, COST).batches()
    history = next(batch for batch in batches if batch.qualified == "prompts.history")
    conn = await asyncpg.connect(fresh_database.dsn)
    try:
        tables = await seeded_tables(conn)
        triggers = await skippable_triggers(conn, tables)
        loader = Loader(conn, lambda line: None, tables)
        await loader.load_types()
    finally:
        await conn.close()
    assert triggers is not None
    assert "history_track_request_id" in triggers["prompts.history"]
    skipping = loader.prepare_bulk(history, triggers)
    assert skipping.replica
    assert skipping.rows == len(history.rows)
    assert [copy.table for copy in skipping.copies] == ["prompts.history", "prompts.history_request_ids"]
    checked = loader.prepare_bulk(history, None)
    assert not checked.replica
    assert [copy.table for copy in checked.copies] == ["prompts.history"]
    app = await asyncpg.connect(fresh_database.dsn_as("bp_app"))
    try:
        assert await skippable_triggers(app, tables) is None  # it may not set session_replication_role
    finally:
        await app.close()
