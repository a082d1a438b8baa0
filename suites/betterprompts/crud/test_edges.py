"""The edges a mutant hides behind (#12): first and last positions, counts that must move exactly
once per operation, and operations on revoked, expired or deactivated objects. All as bp_app."""

from __future__ import annotations

import pytest

from betterprompts_db.data.errors import AuthenticationFailed, Conflict, NotFound
from betterprompts_db.data.postgres import DataLayer
from suites.betterprompts.crud.test_prompts import register


async def test_collection_positions_start_at_zero_and_reordering_reaches_both_ends(
    data: DataLayer, owner_data: DataLayer
) -> None:
    user = await register(data, "edges")
    async with data.db.transaction(user_id=user.id):
        saved = [await data.repos.saved_prompts.create(user_id=user.id, title=t, prompt_text=t) for t in "wxyz"]
        collection = await data.repos.collections.create(user_id=user.id, name="ends")
    first = await data.prompts.add_to_collection(user.id, collection.id, saved[0].id)
    assert first.position == 0  # the first entry of an empty collection
    for i, prompt in enumerate(saved[1:], start=1):
        assert (await data.prompts.add_to_collection(user.id, collection.id, prompt.id)).position == i
    with pytest.raises(Conflict):  # once per collection
        await data.prompts.add_to_collection(user.id, collection.id, saved[0].id)
    reversed_order = [p.id for p in reversed(saved)]  # the last becomes first, the first last
    await data.prompts.reorder_collection(user.id, collection.id, reversed_order)
    rows = await owner_data.db.fetch(
        "collection_prompts", "SELECT saved_prompt_id, position FROM prompts.collection_prompts"
        " WHERE collection_id = $1 ORDER BY position", collection.id,
    )  # fmt: skip
    assert [(r[0], r[1]) for r in rows] == list(zip(reversed_order, range(4), strict=True))
    other = await register(data, "edges2")
    with pytest.raises(NotFound):  # another user's collection is not there to append to
        await data.prompts.add_to_collection(other.id, collection.id, saved[0].id)


async def test_each_open_of_a_shared_prompt_counts_one_view(data: DataLayer, owner_data: DataLayer) -> None:
    user = await register(data, "viewer")
    async with data.db.transaction(user_id=user.id):
        saved = await data.repos.saved_prompts.create(user_id=user.id, title="t", prompt_text="p")
        private = await data.repos.saved_prompts.create(user_id=user.id, title="p", prompt_text="p")
    token = await data.prompts.share_prompt(user.id, saved.id)
    for _ in range(3):
        await data.prompts.find_shared(token)
    views = "SELECT view_count FROM prompts.saved_prompts WHERE id = $1"
    assert await owner_data.db.fetchval("views", views, saved.id) == 3
    assert await owner_data.db.fetchval("views", views, private.id) == 0


async def test_a_revoked_session_cannot_be_verified_or_refreshed(data: DataLayer) -> None:
    user = await register(data, "revoked")
    issued = await data.auth.create_session(user.id)
    await data.auth.revoke_session(user.id, issued.session.id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await data.auth.verify_session(issued.token)
    with pytest.raises(AuthenticationFailed, match="unknown or revoked refresh token"):
        await data.auth.refresh_session(user.id, issued.refresh_token)
    assert await data.auth.revoke_all_sessions(user.id) == 0  # nothing live: counted zero, not one


async def test_a_deactivated_or_expired_api_key_is_refused_and_its_use_not_counted(
    data: DataLayer, owner_data: DataLayer
) -> None:
    user = await register(data, "keys")
    active = await data.auth.create_api_key(user.id, "active")
    deactivated = await data.auth.create_api_key(user.id, "off")
    async with data.db.transaction(user_id=user.id):
        await data.repos.api_keys.update(deactivated.api_key.id, is_active=False)
    expired = await data.auth.create_api_key(user.id, "old")
    await owner_data.db.execute("expire", "UPDATE auth.api_keys SET expires_at = now() - interval '1 second'"
                                " WHERE id = $1", expired.api_key.id)  # fmt: skip
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        await data.auth.verify_api_key(deactivated.key)
    with pytest.raises(AuthenticationFailed, match="expired"):
        await data.auth.verify_api_key(expired.key)
    assert (await data.auth.verify_api_key(active.key)).usage_count == 1  # the first use counts one
    counts = await owner_data.db.fetch("uses", "SELECT name, usage_count FROM auth.api_keys WHERE user_id = $1",
                                       user.id)  # fmt: skip
    assert dict(counts) == {"active": 1, "off": 0, "old": 0}


async def test_a_deactivated_account_cannot_log_in(data: DataLayer, owner_data: DataLayer) -> None:
    user = await register(data, "inactive")
    await owner_data.db.execute("deactivate", "UPDATE auth.users SET is_active = false WHERE id = $1", user.id)
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        await data.auth.authenticate("inactive@example.com", "pw")
    attempts = "SELECT failed_login_attempts, last_login_at FROM auth.users WHERE id = $1"
    assert tuple(await owner_data.db.fetchrow("user", attempts, user.id)) == (0, None)  # type: ignore[arg-type]
