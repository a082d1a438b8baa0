"""An exception anywhere in a unit of work leaves nothing in any table; migrations rolled back
and re-applied over real data keep what their downs claim to keep."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from betterprompts_db.data.postgres import DataLayer, Enhancement
from harness import migrate
from harness.config import Settings
from harness.pytest_plugin import Database

TABLES_SQL = (
    "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname IN ('auth', 'prompts', 'analytics') AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    " ORDER BY 1"
)


class Injected(Exception):
    pass


async def fingerprint(data: DataLayer) -> dict[str, tuple[int, str | None]]:
    """Row count and an md5 over every row, per table."""
    result = {}
    for (table,) in await data.db.fetch("catalog", TABLES_SQL):
        row = await data.db.fetchrow(
            table, f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"
        )
        assert row is not None
        result[table] = (row[0], row[1])
    return result


STEPS = ["user", "preferences", "session", "enhancement", "saved_prompt", "collection", "member", "activity"]


async def busy_unit_of_work(data: DataLayer, fail_after: str) -> None:
    """Touches most tables; raises right after step `fail_after`."""
    rng = np.random.default_rng(3)
    user_id = uuid.uuid4()
    async with data.db.transaction(user_id=user_id):
        ids: dict[str, Any] = {}
        for step in STEPS:
            if step == "user":
                email, name, password_hash = f"{user_id.hex}@e.co", user_id.hex[:12], "$2b$04$" + "a" * 53
                await data.repos.users.create(id=user_id, email=email, username=name, password_hash=password_hash)
            elif step == "preferences":
                await data.repos.user_preferences.create(user_id=user_id)
            elif step == "session":
                ids[step] = (await data.auth.create_session(user_id)).session.id
            elif step == "enhancement":
                vector = rng.normal(size=768)
                ids[step] = (await data.prompts.record_enhancement(Enhancement(
                    user_id=user_id, request_id=f"r-{user_id.hex}", original_input="i", enhanced_output="o",
                    intent="reasoning", intent_confidence=0.7, techniques_used=["few_shot"], processing_time_ms=9,
                    embedding=vector / np.linalg.norm(vector),
                ))).id  # fmt: skip
            elif step == "saved_prompt":
                ids[step] = (await data.repos.saved_prompts.create(user_id=user_id, history_id=ids["enhancement"],
                                                                   title="t", prompt_text="p")).id  # fmt: skip
            elif step == "collection":
                ids[step] = (await data.repos.collections.create(user_id=user_id, name="c")).id
            elif step == "member":
                await data.prompts.add_to_collection(user_id, ids["collection"], ids["saved_prompt"])
            elif step == "activity":
                await data.repos.user_activity.create(user_id=user_id, activity_type="enhance", data={"n": 1})
            if step == fail_after:
                raise Injected(step)


@pytest.mark.parametrize("fail_after", STEPS)
async def test_an_exception_anywhere_in_a_unit_of_work_leaves_no_table_changed(
    data: DataLayer, owner_data: DataLayer, fail_after: str
) -> None:
    """The application's unit of work (as bp_app), fingerprinted by the owner, who sees every row."""
    before = await fingerprint(owner_data)
    with pytest.raises(Injected):
        await busy_unit_of_work(data, fail_after)
    assert await fingerprint(owner_data) == before


async def test_a_completed_unit_of_work_is_all_there(data: DataLayer, owner_data: DataLayer) -> None:
    before = await fingerprint(owner_data)
    with pytest.raises(Injected):
        await busy_unit_of_work(data, STEPS[-1])
    await busy_unit_of_work(data, "none")
    after = await fingerprint(owner_data)
    changed = {t for t in after if after[t] != before[t]}
    assert {"auth.users", "prompts.history", "prompts.embeddings", "prompts.collection_prompts",
            "analytics.user_activity", "analytics.technique_effectiveness"} <= changed  # fmt: skip


async def test_downs_that_only_change_structure_keep_every_row(
    data: DataLayer, owner_data: DataLayer, fresh_database: Database, harness_settings: Settings
) -> None:
    """0008 (least privilege), 0007 (partitioning) and 0006 (roles, grants, RLS) claim to keep all
    data: down and up again."""
    for _ in range(3):
        await busy_unit_of_work(data, "none")
    before = await fingerprint(owner_data)
    directory = harness_settings.migrations_dir
    undone = await migrate.rollback_migrations(fresh_database.dsn, directory, to=5)
    assert [s.migration.version for s in undone] == [8, 7, 6]
    await migrate.apply_migrations(fresh_database.dsn, directory)
    await owner_data.db.pool.expire_connections()  # the tables were rebuilt under the pool
    assert await fingerprint(owner_data) == before
