"""Through the data layer as the application role: users never touch each other's rows, hostile
text is stored verbatim and changes nothing else, and no secret is stored in the clear."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from betterprompts_db.data.errors import InvalidInput, NotFound
from betterprompts_db.data.postgres import DataLayer, Enhancement
from harness.pytest_plugin import Database
from suites.betterprompts.rollback.test_rollback import fingerprint

INJECTIONS = [
    "'; DROP TABLE auth.users; --",
    '" OR 1=1 --',
    "' || pg_sleep(10) || '",
    "$$; DELETE FROM prompts.history; $$",
    "\\'; TRUNCATE prompts.saved_prompts CASCADE; --",
    "/* comment */ SELECT * FROM harness.schema_migrations",
    "Robert'); DROP TABLE students;--",
    "\u211d\U0001d556\U0001d555 \U0001f7e5 \u0645\u0631\u062d\u0628\u0627 e\u0301 \u202eevil \u200b",
    "%s %d {0} ${jndi:ldap://x}",
    "<script>alert(1)</script>",
]


async def two_users(data: DataLayer) -> tuple[Any, Any]:
    return tuple(
        [await data.auth.register(email=f"{n}@example.com", username=n, password="pw") for n in ("ann", "ben")]
    )  # type: ignore[return-value]


async def test_a_user_never_reads_updates_or_deletes_another_users_rows(data: DataLayer) -> None:
    ann, ben = await two_users(data)
    async with data.db.transaction(user_id=ben.id):
        theirs = await data.repos.saved_prompts.create(user_id=ben.id, title="ben's", prompt_text="secret")
        history = await data.prompts.record_enhancement(Enhancement(
            user_id=ben.id, request_id="r-ben", original_input="ben's input", enhanced_output="o", intent="reasoning",
            intent_confidence=0.5, techniques_used=[], processing_time_ms=1))  # fmt: skip
    async with data.db.transaction(user_id=ann.id):
        for repo, row_id in ((data.repos.saved_prompts, theirs.id), (data.repos.history, history.id),
                             (data.repos.users, ben.id)):  # fmt: skip
            assert await repo.find(row_id) is None
            with pytest.raises(NotFound):
                await repo.delete(row_id)
        assert (await data.repos.saved_prompts.list()).items == []
        with pytest.raises(NotFound):
            await data.repos.saved_prompts.update(theirs.id, title="mine now")
    async with data.db.transaction(user_id=ben.id):
        assert (await data.repos.saved_prompts.get(theirs.id)).title == "ben's"


@pytest.mark.parametrize("text", INJECTIONS)
async def test_hostile_text_in_every_field_is_stored_verbatim_and_changes_nothing_else(
    data: DataLayer, owner_data: DataLayer, text: str
) -> None:
    """Written as bp_app; the owner, who sees every row, takes the fingerprints."""
    password = text.encode()[:72].decode(errors="ignore")  # bcrypt's limit
    handle = uuid.uuid4().hex[:10]
    user = await data.auth.register(email=f"{handle}@example.com", username=handle, password=password,
                                     first_name=text, last_name=text, metadata={text: text})  # fmt: skip
    before = await fingerprint(owner_data)
    entry = await data.prompts.record_enhancement(Enhancement(
        user_id=user.id, request_id=text, original_input=text, enhanced_output=text, intent="reasoning",
        intent_confidence=0.5, techniques_used=["few_shot"], processing_time_ms=1, model_version=text,
        technique_scores={text: 1.0}))  # fmt: skip
    async with data.db.transaction(user_id=user.id):
        saved = await data.repos.saved_prompts.create(
            user_id=user.id, title=text[:200], description=text, prompt_text=text, tags=[text[:50], "x"],
            metadata={"k": text},
        )  # fmt: skip
        stored = await data.repos.history.get(entry.id)
        again = await data.repos.saved_prompts.get(saved.id)
        assert (await data.repos.users.get(user.id)).first_name == text
    assert (stored.request_id, stored.original_input, stored.enhanced_output, stored.model_version) == (text,) * 4
    assert stored.technique_scores == {text: 1.0}
    assert (again.title, again.description, again.prompt_text, again.tags[0]) == (text[:200], text, text, text[:50])
    after = await fingerprint(owner_data)
    changed = {t for t in after if after[t] != before[t]}
    assert changed == {"prompts.history", "prompts.history_request_ids", "prompts.saved_prompts",
                       "analytics.technique_effectiveness"}  # fmt: skip
    assert after["auth.users"][0] == before["auth.users"][0]


async def test_a_nul_character_is_refused_naming_the_field(data: DataLayer) -> None:
    user = await data.auth.register(email="nul@example.com", username="nul_user", password="pw")
    async with data.db.transaction(user_id=user.id):
        with pytest.raises(InvalidInput) as error:
            await data.repos.saved_prompts.create(user_id=user.id, title="nul\x00here", prompt_text="p")
        assert error.value.field == "title"
        assert (await data.repos.saved_prompts.list()).items == []


async def test_no_password_or_token_is_stored_in_the_clear(data: DataLayer, fresh_database: Database) -> None:
    password = "correct horse battery staple"
    user = await data.auth.register(email="clear@example.com", username="cleartext", password=password)
    issued = await data.auth.create_session(user.id)
    key = await data.auth.create_api_key(user.id, "k")
    async with data.db.transaction(user_id=user.id):
        saved = await data.repos.saved_prompts.create(user_id=user.id, title="t", prompt_text="p")
    token = await data.prompts.share_prompt(user.id, saved.id)
    secrets = [password, issued.token, issued.refresh_token, key.key]
    admin = await asyncpg.connect(fresh_database.dsn)  # the superuser reads every row, the runner's too
    try:
        tables = await admin.fetch(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('auth', 'prompts', 'analytics', 'harness') AND c.relkind IN ('r', 'p')",
        )
        for (table,) in tables:
            dump = "\n".join(r[0] for r in await admin.fetch(f"SELECT t::text FROM {table} t"))
            for secret in secrets:
                assert secret not in dump, f"{table} stores a secret in the clear"
    finally:
        await admin.close()
    assert token  # share tokens are public by design: they are the link
