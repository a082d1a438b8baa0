"""Each derived column is derived on every statement that can change what it derives from, even
when the statement touches only one of the columns involved (a trigger's `UPDATE OF` list names
them all). Rolled back per test."""

from __future__ import annotations

import asyncpg
import pytest

from suites.betterprompts.schema.rows import insert

TEMPLATE = {"technique": "few_shot", "category": "general", "template_text": "{x}"}


@pytest.mark.parametrize("cleared", [None, ""])
async def test_a_template_whose_slug_alone_is_cleared_gets_one_from_its_name_again(
    pg_conn: asyncpg.Connection, cleared: str | None
) -> None:
    """DOMAIN.md: the slug is generated from the name when absent, on update as on insert."""
    template = await insert(pg_conn, "prompts.templates", {**TEMPLATE, "name": "Few Shot: Recipes", "slug": "custom"})
    await pg_conn.execute("UPDATE prompts.templates SET slug = $2 WHERE id = $1", template, cleared)
    assert await pg_conn.fetchval("SELECT slug FROM prompts.templates WHERE id = $1", template) == "few-shot-recipes"
