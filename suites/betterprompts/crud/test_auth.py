"""Registration, passwords, lockout, sessions and API keys, through the application role."""

from __future__ import annotations

import asyncio

import bcrypt
import pytest

from betterprompts_db.data.errors import AuthenticationFailed, Conflict
from betterprompts_db.data.postgres import DataLayer


async def test_registration_hashes_the_password_and_creates_preferences(data: DataLayer, owner_data: DataLayer) -> None:
    user = await data.auth.register(email="Erin@Example.com", username="erin", password="s3cret!")
    assert user.password_hash != "s3cret!"
    assert bcrypt.checkpw(b"s3cret!", user.password_hash.encode())
    assert user.password_hash.startswith("$2b$04$")  # the policy's cost
    prefs = await owner_data.repos.user_preferences.list(filters={"user_id": user.id})
    assert len(prefs.items) == 1


async def test_registering_a_taken_email_in_any_case_is_a_conflict(data: DataLayer) -> None:
    await data.auth.register(email="frank@example.com", username="frank", password="pw")
    with pytest.raises(Conflict, match="users_email_lower_key"):
        await data.auth.register(email="FRANK@example.com", username="frank2", password="pw")


async def test_authentication_succeeds_resets_attempts_and_locks_after_repeated_failures(data: DataLayer) -> None:
    await data.auth.register(email="gina@example.com", username="gina", password="right")
    with pytest.raises(AuthenticationFailed, match="attempt 1 of 5"):
        await data.auth.authenticate("gina@example.com", "wrong")
    user = await data.auth.authenticate("GINA@example.com", "right")
    assert (user.failed_login_attempts, user.last_login_at is not None) == (0, True)
    for attempt in range(1, 6):
        with pytest.raises(AuthenticationFailed, match=f"attempt {attempt} of 5"):
            await data.auth.authenticate("gina@example.com", "wrong")
    with pytest.raises(AuthenticationFailed, match="locked until"):
        await data.auth.authenticate("gina@example.com", "right")
    with pytest.raises(AuthenticationFailed, match="no account"):
        await data.auth.authenticate("nobody@example.com", "x")


async def test_sessions_are_issued_verified_refreshed_and_revoked(data: DataLayer, owner_data: DataLayer) -> None:
    user = await data.auth.register(email="hal@example.com", username="hal", password="pw")
    issued = await data.auth.create_session(user.id, user_agent="pytest")
    stored = await owner_data.repos.sessions.get(issued.session.id)
    assert issued.token not in (stored.token_hash, stored.refresh_token_hash)  # only hashes are stored
    assert (stored.expires_at - stored.created_at).total_seconds() == pytest.approx(86400, abs=5)
    assert (await data.auth.verify_session(issued.token)).id == issued.session.id
    rotated = await data.auth.refresh_session(user.id, issued.refresh_token)
    with pytest.raises(AuthenticationFailed, match="unknown session token"):
        await data.auth.verify_session(issued.token)
    await data.auth.verify_session(rotated.token)
    second = await data.auth.create_session(user.id)
    assert await data.auth.revoke_all_sessions(user.id) == 2
    for token in (rotated.token, second.token):
        with pytest.raises(AuthenticationFailed, match="revoked"):
            await data.auth.verify_session(token)


async def test_expired_sessions_fail_and_are_swept(data: DataLayer, owner_data: DataLayer) -> None:
    user = await data.auth.register(email="ida@example.com", username="ida", password="pw")
    issued = await data.auth.create_session(user.id)
    await owner_data.db.execute(
        "auth.sessions", "UPDATE auth.sessions SET created_at = now() - interval '2 days',"
        " expires_at = now() - interval '1 day' WHERE id = $1", issued.session.id,
    )  # fmt: skip
    with pytest.raises(AuthenticationFailed, match="expired"):
        await data.auth.verify_session(issued.token)
    assert await owner_data.auth.expire_sessions() == 1


async def test_api_keys_verify_and_count_uses_exactly_under_concurrency(data: DataLayer) -> None:
    user = await data.auth.register(email="joan@example.com", username="joan", password="pw")
    issued = await data.auth.create_api_key(user.id, "ci", scopes=["read", "enhance"])
    assert issued.key.startswith("bp_")
    assert issued.api_key.key_hash != issued.key
    await asyncio.gather(*(data.auth.verify_api_key(issued.key) for _ in range(20)))
    used = await data.auth.verify_api_key(issued.key)
    assert used.usage_count == 21
    with pytest.raises(AuthenticationFailed, match="unknown API key"):
        await data.auth.verify_api_key("bp_forged")


async def test_changing_email_to_a_taken_one_in_any_case_is_a_conflict_that_says_so(data: DataLayer) -> None:
    kay = await data.auth.register(email="kay@example.com", username="kay_user", password="pw")
    await data.auth.register(email="lou@example.com", username="lou_user", password="pw")
    assert (await data.auth.change_email(kay.id, "kay@new.example.com")).email == "kay@new.example.com"
    with pytest.raises(Conflict, match="compare case-insensitively"):
        await data.auth.change_email(kay.id, "LOU@example.com")
