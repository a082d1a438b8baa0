"""Seed profiles load into a migrated database, completely, once, and again after a clean."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from betterprompts_db.seed import SeedConflict, SeedError, UnknownProfile, build_dataset, load_dataset, seed
from harness.pytest_plugin import Database
from suites.betterprompts.schema.rows import history
from suites.betterprompts.seeds.database import fetch, row_counts

COST = 4  # the cheapest bcrypt: these tests are about rows, test_secrets about hashes


async def test_minimal_profile_loads_every_named_account_the_reference_data_and_a_little_history(
    fresh_database: Database, seeds_dir: Path
) -> None:
    report = await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST)
    assert report.inserted == report.expected
    counts = await row_counts(fresh_database.dsn)
    assert {name: counts[name] for name in report.expected} == report.expected
    accounts = await fetch(fresh_database.dsn, "SELECT role, tier FROM auth.users")
    assert {r["role"] for r in accounts} == {"user", "developer", "support", "admin"}
    assert {r["tier"] for r in accounts} == {"free", "pro", "enterprise"}
    assert counts["prompts.templates"] >= 20
    assert counts["prompts.intent_patterns"] >= 100
    assert 0 < counts["prompts.history"] <= 500
    assert counts["prompts.history_request_ids"] == counts["prompts.history"]  # the registry trigger ran


async def test_demo_profile_loads_a_small_world_and_a_second_run_adds_nothing(
    fresh_database: Database, seeds_dir: Path
) -> None:
    first = await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=COST)
    counts = await row_counts(fresh_database.dsn)
    assert 45 <= counts["auth.users"] <= 60
    assert 1500 <= counts["prompts.history"] <= 2500
    for table in ("prompts.saved_prompts", "prompts.collections", "prompts.collection_prompts",
                  "auth.user_preferences", "auth.sessions", "auth.api_keys", "prompts.embeddings",
                  "analytics.user_activity", "analytics.api_metrics", "analytics.technique_effectiveness"):  # fmt: skip
        assert counts[table] > 0, table
    assert first.rows_inserted == sum(first.expected.values())

    second = await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=COST)
    assert second.rows_inserted == 0
    assert await row_counts(fresh_database.dsn) == counts


async def test_clean_empties_the_tables_and_reloads_the_same_counts(fresh_database: Database, seeds_dir: Path) -> None:
    await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=COST)
    counts = await row_counts(fresh_database.dsn)
    await fetch(fresh_database.dsn, "UPDATE prompts.templates SET usage_count = 0")  # cleaned away below
    report = await seed(fresh_database.dsn, "demo", clean=True, seeds_dir=seeds_dir, bcrypt_cost=COST)
    assert report.inserted == report.expected
    assert await row_counts(fresh_database.dsn) == counts
    assert await fetch(fresh_database.dsn, "SELECT count(*) FROM prompts.templates WHERE usage_count = 0") == [(0,)]
    versions = await fetch(fresh_database.dsn, "SELECT count(*) FROM harness.schema_migrations")
    assert versions[0][0] > 0  # the version table is not the seeder's to empty


async def test_a_partial_load_is_completed_with_exactly_the_missing_rows(
    fresh_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST)
    full = await row_counts(fresh_database.dsn)
    for delete in (
        "DELETE FROM prompts.saved_prompts WHERE is_public",  # and their collection entries, by cascade
        "DELETE FROM prompts.embeddings WHERE source_type = 'template'",
        "DELETE FROM analytics.daily_stats WHERE day < '2025-03-01'",
        "DELETE FROM analytics.user_activity WHERE activity_type = 'login'",
        "DELETE FROM auth.user_preferences WHERE ui_theme = 'dark'",
    ):
        await fetch(fresh_database.dsn, delete)
    partial = await row_counts(fresh_database.dsn)
    missing = {table: full[table] - partial[table] for table in full if full[table] != partial[table]}
    assert {"prompts.embeddings", "analytics.daily_stats", "analytics.user_activity"} <= set(missing)

    report = await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST)
    assert await row_counts(fresh_database.dsn) == full
    assert {table: n for table, n in report.inserted.items() if n} == missing


async def test_another_profile_over_a_seeded_database_is_refused_unless_clean(
    fresh_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST)
    with pytest.raises(SeedConflict, match="another profile or scale"):
        await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=COST)
    report = await seed(fresh_database.dsn, "demo", clean=True, seeds_dir=seeds_dir, bcrypt_cost=COST)
    assert report.inserted == report.expected


async def test_history_lands_in_monthly_partitions_made_for_the_seeded_months(
    fresh_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=COST)
    rows = await fetch(
        fresh_database.dsn,
        "SELECT tableoid::regclass::text AS part, count(*) FROM prompts.history GROUP BY 1 ORDER BY 1",
    )
    parts = {r["part"]: r["count"] for r in rows}
    assert "prompts.history_default" not in parts
    assert set(parts) == {f"prompts.history_2025_{month:02d}" for month in range(1, 13)}  # epoch 2026-01-01
    assert parts["prompts.history_2025_12"] > parts["prompts.history_2025_01"]  # traffic grows


async def test_a_seeded_month_already_in_the_default_partition_stays_there_and_the_others_get_theirs(
    fresh_database: Database, seeds_dir: Path
) -> None:
    conn = await asyncpg.connect(fresh_database.dsn)
    try:
        await history(conn, None, created_at=datetime(2025, 3, 15, tzinfo=UTC))  # no 2025 partition yet
    finally:
        await conn.close()
    report = await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST)
    assert report.inserted == report.expected
    rows = await fetch(
        fresh_database.dsn,
        "SELECT DISTINCT tableoid::regclass::text AS part, date_trunc('month', created_at AT TIME ZONE 'UTC') AS month "
        "FROM prompts.history WHERE created_at < '2026-01-01'",
    )
    parts = {r["month"].month: r["part"] for r in rows}
    assert parts[3] == "prompts.history_default"
    assert {month: part for month, part in parts.items() if month != 3} == {
        month: f"prompts.history_2025_{month:02d}" for month in parts if month != 3
    }


async def test_triggers_fill_missing_template_slugs_and_normalise_intent_patterns(
    fresh_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST)
    slugs = await fetch(fresh_database.dsn, "SELECT name, slug FROM prompts.templates")
    assert dict(slugs)["Chain of Thought: Math Word Problems"] == "chain-of-thought-math-word-problems"
    assert dict(slugs)["Role Play: Patient Tutor"] == "patient-tutor"  # given in the file, kept
    patterns = await fetch(fresh_database.dsn, "SELECT pattern, normalized_pattern FROM prompts.intent_patterns")
    assert dict(patterns)["  how does   photosynthesis work "] == "how does photosynthesis work"
    assert sum(p != n for p, n in patterns) >= 30  # the file varies case and whitespace on purpose


async def test_load_profile_at_one_percent_keeps_its_shape(fresh_database: Database, seeds_dir: Path) -> None:
    report = await seed(fresh_database.dsn, "load", scale=0.01, seeds_dir=seeds_dir, bcrypt_cost=COST)
    assert report.inserted == report.expected
    assert report.expected["auth.users"] == 100 + 9  # generated + named accounts
    assert report.expected["prompts.history"] == 2000
    assert report.expected["prompts.embeddings"] == 1000 + 24 + 100  # half the history, templates, patterns


def test_full_scale_profiles_reach_their_documented_sizes(seeds_dir: Path) -> None:
    """Counted without loading: `load` at scale 1 is the benchmark's, not the suite's."""
    from betterprompts_db.seed import load_profile

    _, load = load_profile(seeds_dir, "load")
    assert load.users >= 10_000
    assert load.history >= 200_000
    assert load.history * load.embedded_history >= 100_000
    _, large = load_profile(seeds_dir, "large")
    assert large.history >= 2_000_000
    assert large.history * large.embedded_history >= 1_000_000
    demo = build_dataset(seeds_dir, "demo", cost=COST).counts()
    assert 45 <= demo["auth.users"] <= 60
    assert 1500 <= demo["prompts.history"] <= 2500


async def test_seeding_an_unmigrated_database_names_the_missing_table(
    blank_database: Database, seeds_dir: Path
) -> None:
    with pytest.raises(SeedError, match=r"prompts\.history does not exist"):
        await seed(blank_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST)


def test_an_unknown_profile_is_refused_with_the_known_ones(seeds_dir: Path) -> None:
    with pytest.raises(UnknownProfile, match=r"no profile 'huge'.*demo, large, load, minimal"):
        build_dataset(seeds_dir, "huge", cost=COST)


async def test_load_dataset_called_again_keeps_what_is_there_and_adds_nothing(
    fresh_database: Database, seeds_dir: Path
) -> None:
    """The library call, as a caller that passes nothing but the dataset: it never empties a table."""
    dataset = build_dataset(seeds_dir, "minimal", cost=COST)
    first = await load_dataset(fresh_database.dsn, dataset)
    assert sum(t.inserted for t in first.values()) == sum(dataset.counts().values())
    again = await load_dataset(fresh_database.dsn, dataset)
    assert {name: t.inserted for name, t in again.items()} == dict.fromkeys(dataset.counts(), 0)
