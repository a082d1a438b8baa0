"""Every repository: create, get, keyset pages with filters, partial update, delete, COPY."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from betterprompts_db.data.errors import Conflict, NotFound
from betterprompts_db.data.postgres import DataLayer

HASH = "$2b$04$" + "a" * 53


async def make_user(owner_data: DataLayer, name: str = "") -> Any:
    name = name or f"u{uuid.uuid4().hex[:8]}"
    return await owner_data.repos.users.create(email=f"{name}@example.com", username=name, password_hash=HASH)


async def test_every_table_has_a_repository(owner_data: DataLayer) -> None:
    tables = {repo.table for repo in owner_data.repos.all()}
    rows = await owner_data.db.fetch(
        "catalog",
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN ('auth', 'prompts', 'analytics') AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND c.relname <> 'history_request_ids'",
    )
    assert tables == {r[0] for r in rows}


async def test_create_get_update_delete_round_trip(owner_data: DataLayer) -> None:
    user = await make_user(owner_data, "carol")
    assert (await owner_data.repos.users.get(user.id)).email == "carol@example.com"
    updated = await owner_data.repos.users.update(user.id, tier="pro", preferences={"theme": "dark"})
    assert (updated.tier, updated.preferences, updated.username) == ("pro", {"theme": "dark"}, "carol")
    assert updated.updated_at >= user.updated_at
    await owner_data.repos.users.delete(user.id)
    assert await owner_data.repos.users.find(user.id) is None
    with pytest.raises(NotFound, match=f"auth.users: no row with id {user.id}"):
        await owner_data.repos.users.get(user.id)
    with pytest.raises(NotFound):
        await owner_data.repos.users.delete(user.id)
    with pytest.raises(NotFound):
        await owner_data.repos.users.update(user.id, tier="free")


async def test_pages_walk_every_row_once_newest_first_with_filters(owner_data: DataLayer) -> None:
    owner, other = await make_user(owner_data), await make_user(owner_data)
    rows = [{"user_id": owner.id, "title": f"t{i}", "prompt_text": "p"} for i in range(23)]
    rows += [{"user_id": other.id, "title": "x", "prompt_text": "p"} for _ in range(5)]
    assert await owner_data.repos.saved_prompts.copy(rows) == 28
    seen: list[Any] = []
    page = await owner_data.repos.saved_prompts.list(filters={"user_id": owner.id}, limit=10)
    while True:
        seen += page.items
        if page.next is None:
            break
        page = await owner_data.repos.saved_prompts.list(filters={"user_id": owner.id}, after=page.next, limit=10)
    assert len(seen) == 23
    assert len({p.id for p in seen}) == 23
    assert [(p.created_at, p.id) for p in seen] == sorted(((p.created_at, p.id) for p in seen), reverse=True)
    exact = await owner_data.repos.saved_prompts.list(filters={"user_id": other.id}, limit=5)
    assert (len(exact.items), exact.next) == (5, None)  # a full last page says there is no next
    nulls = await owner_data.repos.saved_prompts.list(filters={"history_id": None, "user_id": other.id})
    assert len(nulls.items) == 5


async def test_duplicates_are_conflicts_naming_the_constraint(owner_data: DataLayer) -> None:
    await make_user(owner_data, "dave")
    with pytest.raises(Conflict, match="users_email_lower_key"):
        await owner_data.repos.users.create(email="DAVE@example.com", username="dave2", password_hash=HASH)


async def test_unknown_references_are_not_found(owner_data: DataLayer) -> None:
    with pytest.raises(NotFound, match="not present in table"):
        await owner_data.repos.sessions.create(
            user_id=uuid.uuid4(), token_hash="t", expires_at=datetime(2099, 1, 1, tzinfo=UTC)
        )
