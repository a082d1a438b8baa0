"""Determinism that one interpreter cannot show: `harness seed` run in two separate processes,
each with its own string-hash seed, writes the same rows. A generator that iterated a set or
hashed a string would pass every in-process test and still differ here."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from harness.pytest_plugin import Database
from suites.betterprompts.seeds.database import dump_data
from suites.betterprompts.seeds.test_determinism import rows_by_table


def seed_in_a_process_of_its_own(dsn: str, seeds_dir: Path, hash_seed: str) -> None:
    environ = {**os.environ, "PYTHONHASHSEED": hash_seed, "HARNESS_BCRYPT_COST": "4"}
    result = subprocess.run(
        [sys.executable, "-m", "harness", "seed", "--profile", "minimal", "--dsn", dsn, "--seeds", str(seeds_dir)],
        env=environ, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


async def test_two_processes_with_different_hash_seeds_write_the_same_rows(
    fresh_database: Database, another_database: Database, seeds_dir: Path
) -> None:
    await asyncio.gather(
        asyncio.to_thread(seed_in_a_process_of_its_own, fresh_database.dsn, seeds_dir, "1"),
        asyncio.to_thread(seed_in_a_process_of_its_own, another_database.dsn, seeds_dir, "4242"),
    )
    first, second = await dump_data(fresh_database.dsn), await dump_data(another_database.dsn)
    assert "COPY auth.users" in first
    assert rows_by_table(first) == rows_by_table(second)
