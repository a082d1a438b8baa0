"""The demo world is the committed one, table by table: the seeded rows are an artifact that
fixtures, docs and other teams' tests lean on (known ids, named accounts, a share token), so a
change to what the generators make must be deliberate. The determinism tests compare two runs of
today's code with each other; this compares today's with the reviewed world in `world.json`.

The embedding vectors are left out (numpy's distributions may change between its versions; the
embeddings suite judges their shape). After a deliberate change:
`UPDATE_SEEDED_WORLD=1 pytest suites/betterprompts/seeds/test_committed_world.py` rewrites `world.json`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from betterprompts_db.seed import seed
from harness.pytest_plugin import Database
from suites.betterprompts.seeds.database import dump_data
from suites.betterprompts.seeds.test_determinism import rows_by_table

COMMITTED = Path(__file__).with_name("world.json")
UNJUDGED = {"prompts.embeddings": "embedding"}  # table → column left out of its digest


def digests(dump: str) -> dict[str, str]:
    """sha256 of each table's sorted rows, as `pg_dump --data-only` prints them. Empty tables are
    left out: the migrations make history partitions around today's month, which the world never
    fills, and their names move with the calendar."""
    found = {}
    for header, rows in rows_by_table(dump).items():
        if not rows:
            continue
        table, columns = header.removeprefix("COPY ").split(" (", 1)
        names = columns.split(") FROM")[0].split(", ")
        left_out = [n for n, name in enumerate(names) if name == UNJUDGED.get(table)]
        kept = ["\t".join(v for n, v in enumerate(row.split("\t")) if n not in left_out) for row in rows]
        found[table] = hashlib.sha256("\n".join(sorted(kept)).encode()).hexdigest()
    return found


async def test_the_demo_world_is_the_committed_one(fresh_database: Database, seeds_dir: Path) -> None:
    await seed(fresh_database.dsn, "demo", seeds_dir=seeds_dir, bcrypt_cost=4)
    found = digests(await dump_data(fresh_database.dsn))
    if os.environ.get("UPDATE_SEEDED_WORLD"):
        COMMITTED.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"wrote {COMMITTED}")
    committed = json.loads(COMMITTED.read_text())
    changed = sorted(t for t in committed.keys() | found.keys() if committed.get(t) != found.get(t))
    assert not changed, (
        f"the demo world differs from {COMMITTED.name} in {', '.join(changed)}: if the change is meant, "
        "rewrite it with UPDATE_SEEDED_WORLD=1 and review the diff"
    )
