"""The same profile gives byte-identical data in every database: fixed seed, stable ids, fixed clock."""

from __future__ import annotations

from pathlib import Path

from betterprompts_db.seed import seed
from harness.pytest_plugin import Database
from suites.betterprompts.seeds.database import dump_data


async def test_two_databases_seeded_with_one_profile_dump_identical_data(
    fresh_database: Database, another_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=4)
    await seed(another_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=4)
    first, second = await dump_data(fresh_database.dsn), await dump_data(another_database.dsn)
    assert "COPY prompts.history_2025_06" in first
    assert "COPY prompts.embeddings" in first
    assert first.count("\n") > 10_000
    # the same rows in every table; the order a heap returns them in is the server's business
    # (one run in several showed the same history rows in another physical order)
    assert rows_by_table(first) == rows_by_table(second)


def rows_by_table(dump: str) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in dump.splitlines():
        if line.startswith("COPY "):
            current = tables.setdefault(line, [])
        elif line == "\\.":
            current = None
        elif current is not None:
            current.append(line)
    return {table: sorted(rows) for table, rows in tables.items()}


async def test_a_clean_reload_dumps_the_same_data_as_the_first_load(fresh_database: Database, seeds_dir: Path) -> None:
    await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=4)
    before = await dump_data(fresh_database.dsn)
    await seed(fresh_database.dsn, "minimal", clean=True, seeds_dir=seeds_dir, bcrypt_cost=4)
    assert await dump_data(fresh_database.dsn) == before
