"""Every unique key and every foreign key's ON DELETE, proven by behaviour: a row colliding on a key is
refused by that very key while a near miss is admitted, and deleting a parent deletes, nulls or keeps
its child as DOMAIN.md says. Catalog tests fail when a key or FK appears without a case here."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from suites.betterprompts.schema.rows import BCRYPT_SHAPED, history, insert, user

APP_SCHEMAS = ["auth", "prompts", "analytics"]
Row = dict[str, object]


@dataclass(frozen=True)
class Collision:
    """Rows of one table: `clash` collides with `first` on the key; each near miss differs where the key allows."""

    table: str
    first: Row
    clash: Row
    near_misses: tuple[Row, ...]


class Fate(enum.Enum):
    DELETED = "ON DELETE CASCADE"
    NULLED = "ON DELETE SET NULL"
    REFUSED = "ON DELETE RESTRICT / NO ACTION"


@dataclass(frozen=True)
class Link:
    """A child row referencing a parent row through `columns`, and what deleting the parent must do to it."""

    parent_table: str
    parent_id: uuid.UUID
    child_table: str
    child_id: uuid.UUID
    columns: tuple[str, ...]
    fate: Fate


UNIQUE_KEYS: dict[str, Callable[[asyncpg.Connection], Awaitable[Collision]]] = {}
FOREIGN_KEYS: dict[str, Callable[[asyncpg.Connection], Awaitable[Link]]] = {}


def unique_key(name: str) -> Callable[[Callable[..., Awaitable[Collision]]], Callable[..., Awaitable[Collision]]]:
    """Registers a collision case under the key's `schema.table.index` name (the mutant's id)."""

    def register(build: Callable[..., Awaitable[Collision]]) -> Callable[..., Awaitable[Collision]]:
        UNIQUE_KEYS[name] = build
        return build

    return register


def foreign_key(name: str) -> Callable[[Callable[..., Awaitable[Link]]], Callable[..., Awaitable[Link]]]:
    """Registers a parent/child case under the FK's `schema.table.constraint` name (the mutant's id)."""

    def register(build: Callable[..., Awaitable[Link]]) -> Callable[..., Awaitable[Link]]:
        FOREIGN_KEYS[name] = build
        return build

    return register


def handle() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def account(name: str, **columns: object) -> Row:
    return {"email": f"{name}@example.com", "username": name, "password_hash": BCRYPT_SHAPED, **columns}


def later() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def secret() -> str:
    return uuid.uuid4().hex


def session_row(user_id: uuid.UUID, **columns: object) -> Row:
    return {"user_id": user_id, "token_hash": secret(), "expires_at": later(), **columns}


def api_key_row(user_id: uuid.UUID, **columns: object) -> Row:
    return {"user_id": user_id, "name": "ci", "key_prefix": "bp_live", "key_hash": secret(), **columns}


def prompt_row(user_id: uuid.UUID, **columns: object) -> Row:
    return {"user_id": user_id, "title": "t", "prompt_text": "p", **columns}


def template_row(name: str, **columns: object) -> Row:
    return {"name": name, "technique": "few_shot", "category": "general", "template_text": "x", **columns}


def embedding_row(source_type: str, source_id: uuid.UUID, **columns: object) -> Row:
    return {"source_type": source_type, "source_id": source_id, "embedding": "[" + ",".join(["0.1"] * 768) + "]",
            "model_version": "m", **columns}  # fmt: skip


# --- unique keys: each comment says what the application relies on the key for ---------------------------------


@unique_key("auth.users.users_email_lower_key")
async def email(conn: asyncpg.Connection) -> Collision:
    # login finds one account per address, whatever its case
    a = handle()
    return Collision("auth.users", account(a), account(handle(), email=f"{a.upper()}@EXAMPLE.com"),
                     (account(handle(), email=f"{a}@example.org"),))  # fmt: skip


@unique_key("auth.users.users_username_lower_key")
async def username(conn: asyncpg.Connection) -> Collision:
    # a profile is found by username, whatever its case
    a = handle()
    return Collision("auth.users", account(a), account(handle(), username=a.upper()),
                     (account(handle(), username=f"{a}_2"),))  # fmt: skip


@unique_key("auth.users.users_verification_token_hash_key")
async def verification_token(conn: asyncpg.Connection) -> Collision:
    # a verification link's token finds exactly one account; users without a pending token are many
    token = {"verification_token_hash": secret(), "verification_expires_at": later()}
    return Collision("auth.users", account(handle(), **token), account(handle(), **token),
                     (account(handle()), account(handle())))  # fmt: skip


@unique_key("auth.users.users_reset_token_hash_key")
async def reset_token(conn: asyncpg.Connection) -> Collision:
    # a password-reset token finds exactly one account; users without a pending reset are many
    token = {"reset_token_hash": secret(), "reset_expires_at": later()}
    return Collision("auth.users", account(handle(), **token), account(handle(), **token),
                     (account(handle()), account(handle())))  # fmt: skip


@unique_key("auth.sessions.sessions_token_hash_key")
async def session_token(conn: asyncpg.Connection) -> Collision:
    # a token hash finds exactly one session; a user may hold several sessions
    owner, other = await user(conn), await user(conn)
    first = session_row(owner)
    return Collision("auth.sessions", first, session_row(other, token_hash=first["token_hash"]),
                     (session_row(owner),))  # fmt: skip


@unique_key("auth.sessions.sessions_refresh_token_hash_key")
async def refresh_token(conn: asyncpg.Connection) -> Collision:
    # a refresh token renews exactly one session; sessions without one are many
    owner = await user(conn)
    first = session_row(owner, refresh_token_hash=secret())
    return Collision("auth.sessions", first, session_row(owner, refresh_token_hash=first["refresh_token_hash"]),
                     (session_row(owner), session_row(owner)))  # fmt: skip


@unique_key("auth.api_keys.api_keys_key_hash_key")
async def api_key_hash(conn: asyncpg.Connection) -> Collision:
    # a presented API key authenticates exactly one key row, whoever owns it
    owner, other = await user(conn), await user(conn)
    first = api_key_row(owner)
    return Collision("auth.api_keys", first, api_key_row(other, key_hash=first["key_hash"]),
                     (api_key_row(owner, name="other"),))  # fmt: skip


@unique_key("auth.api_keys.api_keys_user_name_key")
async def api_key_name(conn: asyncpg.Connection) -> Collision:
    # a user tells their keys apart by name; another user may reuse the name
    owner, other = await user(conn), await user(conn)
    return Collision("auth.api_keys", api_key_row(owner), api_key_row(owner), (api_key_row(other),))


@unique_key("auth.user_preferences.user_preferences_user_id_key")
async def one_preferences_row(conn: asyncpg.Connection) -> Collision:
    # one preferences row per user: the enhancer reads it without choosing
    owner, other = await user(conn), await user(conn)
    return Collision("auth.user_preferences", {"user_id": owner}, {"user_id": owner, "ui_theme": "dark"},
                     ({"user_id": other},))  # fmt: skip


@unique_key("prompts.templates.templates_slug_key")
async def template_slug(conn: asyncpg.Connection) -> Collision:
    # a slug finds one template; a repeated name without a slug gets a suffixed one instead
    return Collision("prompts.templates", template_row("Mine", slug="my-own"), template_row("Other", slug="my-own"),
                     (template_row("Mine"), template_row("Mine")))  # fmt: skip


@unique_key("prompts.intent_patterns.intent_patterns_pattern_intent_key")
async def intent_pattern(conn: asyncpg.Connection) -> Collision:
    # training data holds a normalised pattern once per intent; the same words may train another intent
    return Collision("prompts.intent_patterns", {"pattern": "Explain recursion", "intent": "question_answering"},
                     {"pattern": "  explain   RECURSION ", "intent": "question_answering"},
                     ({"pattern": "Explain recursion", "intent": "reasoning"},))  # fmt: skip


@unique_key("prompts.saved_prompts.saved_prompts_share_token_key")
async def share_token(conn: asyncpg.Connection) -> Collision:
    # a share link opens exactly one prompt; private prompts (no token) are many
    owner, other = await user(conn), await user(conn)
    token = {"is_public": True, "share_token": "share_" + secret()}
    return Collision("prompts.saved_prompts", prompt_row(owner, **token), prompt_row(other, **token),
                     (prompt_row(owner), prompt_row(owner)))  # fmt: skip


@unique_key("prompts.collections.collections_user_name_key")
async def collection_name(conn: asyncpg.Connection) -> Collision:
    # a user's collections are told apart by name; another user may reuse it
    owner, other = await user(conn), await user(conn)
    return Collision("prompts.collections", {"user_id": owner, "name": "c"}, {"user_id": owner, "name": "c"},
                     ({"user_id": other, "name": "c"},))  # fmt: skip


@unique_key("prompts.collection_prompts.collection_prompts_once")
async def prompt_once_per_collection(conn: asyncpg.Connection) -> Collision:
    # a prompt appears once in a collection; it may appear in another collection too
    owner = await user(conn)
    mine, other = [await insert(conn, "prompts.collections", {"user_id": owner, "name": n}) for n in "ab"]
    saved = await insert(conn, "prompts.saved_prompts", prompt_row(owner))
    row = {"collection_id": mine, "saved_prompt_id": saved}
    return Collision("prompts.collection_prompts", {**row, "position": 0}, {**row, "position": 1},
                     ({"collection_id": other, "saved_prompt_id": saved, "position": 0},))  # fmt: skip


@unique_key("prompts.collection_prompts.collection_prompts_position_key")
async def one_prompt_per_position(conn: asyncpg.Connection) -> Collision:
    # a collection's order is total: one prompt per position, positions repeat across collections
    owner = await user(conn)
    mine, other = [await insert(conn, "prompts.collections", {"user_id": owner, "name": n}) for n in "ab"]
    first, second = [await insert(conn, "prompts.saved_prompts", prompt_row(owner)) for _ in range(2)]
    return Collision("prompts.collection_prompts", {"collection_id": mine, "saved_prompt_id": first, "position": 0},
                     {"collection_id": mine, "saved_prompt_id": second, "position": 0},
                     ({"collection_id": other, "saved_prompt_id": second, "position": 0},))  # fmt: skip


@unique_key("prompts.embeddings.embeddings_source_key")
async def embedding_source(conn: asyncpg.Connection) -> Collision:
    # re-embedding a source replaces its vector (upsert on the key); ids of different source types may coincide
    source = uuid.uuid4()
    first = embedding_row("template", source)
    return Collision("prompts.embeddings", first, {**first, "model_version": "m2"}, (embedding_row("history", source),))


@unique_key("prompts.history_request_ids.history_request_id_key")
async def request_id(conn: asyncpg.Connection) -> Collision:
    # a request id finds one enhancement across every monthly partition (the registry's primary key)
    owner = await user(conn)
    first = {"user_id": owner, "request_id": f"req-{secret()}", "original_input": "i", "enhanced_output": "o"}
    return Collision("prompts.history", first, {**first, "created_at": datetime(2020, 1, 1, tzinfo=UTC)},
                     ({**first, "request_id": f"req-{secret()}"},))  # fmt: skip


@unique_key("analytics.technique_effectiveness.technique_effectiveness_key")
async def technique_day(conn: asyncpg.Connection) -> Collision:
    # the enhancer upserts one counter row per technique x intent x day
    row = {"technique": "few_shot", "intent": "reasoning", "day": date(2026, 1, 1)}
    return Collision("analytics.technique_effectiveness", row, {**row, "total_count": 1},
                     ({**row, "day": date(2026, 1, 2)}, {**row, "intent": "summarization"}))  # fmt: skip


@unique_key("analytics.daily_stats.daily_stats_day_key")
async def stats_day(conn: asyncpg.Connection) -> Collision:
    # one roll-up row per date
    day = date(2026, 1, 1)
    return Collision("analytics.daily_stats", {"day": day}, {"day": day, "total_requests": 1},
                     ({"day": day + timedelta(days=1)},))  # fmt: skip


# --- foreign keys: each comment says what DOMAIN.md asks of the delete ------------------------------------------


async def owned_by_user(conn: asyncpg.Connection, table: str, row: Row, fate: Fate = Fate.DELETED) -> Link:
    owner = await user(conn)
    child = await insert(conn, table, {"user_id": owner, **row})
    return Link("auth.users", owner, table, child, ("user_id",), fate)


@foreign_key("auth.sessions.sessions_user_id_fkey")
async def user_sessions(conn: asyncpg.Connection) -> Link:
    # a deleted user's sessions go with them
    return await owned_by_user(conn, "auth.sessions", {"token_hash": secret(), "expires_at": later()})


@foreign_key("auth.api_keys.api_keys_user_id_fkey")
async def user_api_keys(conn: asyncpg.Connection) -> Link:
    # a deleted user's keys stop authenticating: they go with the user
    return await owned_by_user(conn, "auth.api_keys", {"name": "k", "key_prefix": "bp_k", "key_hash": secret()})


@foreign_key("auth.user_preferences.user_preferences_user_id_fkey")
async def user_preferences(conn: asyncpg.Connection) -> Link:
    # preferences are the user's own
    return await owned_by_user(conn, "auth.user_preferences", {})


@foreign_key("prompts.saved_prompts.saved_prompts_user_id_fkey")
async def user_library(conn: asyncpg.Connection) -> Link:
    # the user's library goes with the user (cascade)
    return await owned_by_user(conn, "prompts.saved_prompts", {"title": "t", "prompt_text": "p"})


@foreign_key("prompts.collections.collections_user_id_fkey")
async def user_collections(conn: asyncpg.Connection) -> Link:
    # collections are part of the user's library
    return await owned_by_user(conn, "prompts.collections", {"name": "c"})


@foreign_key("prompts.embeddings.embeddings_user_id_fkey")
async def user_embeddings(conn: asyncpg.Connection) -> Link:
    # a user's embeddings carry their content: they go with the user, not orphaned into shared search
    return await owned_by_user(conn, "prompts.embeddings", embedding_row("saved_prompt", uuid.uuid4()))


@foreign_key("analytics.user_activity.user_activity_user_id_fkey")
async def user_activity(conn: asyncpg.Connection) -> Link:
    # per-user activity is personal data: it goes with the user
    return await owned_by_user(conn, "analytics.user_activity", {"activity_type": "login"})


@foreign_key("prompts.history.history_user_id_fkey")
async def user_history(conn: asyncpg.Connection) -> Link:
    # history is kept for the aggregates, detached from the deleted user (SET NULL)
    owner = await user(conn)
    return Link("auth.users", owner, "prompts.history", await history(conn, owner), ("user_id",), Fate.NULLED)


@foreign_key("prompts.templates.templates_created_by_fkey")
async def template_author(conn: asyncpg.Connection) -> Link:
    # a template outlives its author: shared templates stay usable
    author = await user(conn)
    template = await insert(conn, "prompts.templates", template_row("T", created_by=author))
    return Link("auth.users", author, "prompts.templates", template, ("created_by",), Fate.NULLED)


@foreign_key("prompts.intent_patterns.intent_patterns_verified_by_fkey")
async def pattern_verifier(conn: asyncpg.Connection) -> Link:
    # training patterns outlive the reviewer who verified them
    reviewer = await user(conn)
    verified = {"pattern": "p", "intent": "reasoning", "is_verified": True, "verified_by": reviewer}
    pattern = await insert(conn, "prompts.intent_patterns", verified)
    return Link("auth.users", reviewer, "prompts.intent_patterns", pattern, ("verified_by",), Fate.NULLED)


@foreign_key("prompts.history.history_session_id_fkey")
async def history_session(conn: asyncpg.Connection) -> Link:
    # an expired session is swept; the enhancements made in it stay
    owner = await user(conn)
    session = await insert(conn, "auth.sessions", session_row(owner))
    entry = await history(conn, owner, session_id=session)
    return Link("auth.sessions", session, "prompts.history", entry, ("session_id",), Fate.NULLED)


@foreign_key("analytics.user_activity.user_activity_session_id_fkey")
async def activity_session(conn: asyncpg.Connection) -> Link:
    # an expired session is swept; the activity recorded in it stays
    owner = await user(conn)
    session = await insert(conn, "auth.sessions", session_row(owner))
    activity = await insert(conn, "analytics.user_activity", {"user_id": owner, "activity_type": "login",
                                                               "session_id": session})  # fmt: skip
    return Link("auth.sessions", session, "analytics.user_activity", activity, ("session_id",), Fate.NULLED)


@foreign_key("analytics.api_metrics.api_metrics_api_key_id_fkey")
async def metrics_api_key(conn: asyncpg.Connection) -> Link:
    # a revoked (deleted) key's metrics stay in the API statistics (SET NULL)
    key = await insert(conn, "auth.api_keys", api_key_row(await user(conn)))
    metric = await insert(conn, "analytics.api_metrics", {"api_key_id": key, "endpoint": "/e", "method": "GET",
                                                          "status_code": 200, "response_time_ms": 1})  # fmt: skip
    return Link("auth.api_keys", key, "analytics.api_metrics", metric, ("api_key_id",), Fate.NULLED)


@foreign_key("prompts.saved_prompts.saved_prompts_history_fkey")
async def saved_prompt_history(conn: asyncpg.Connection) -> Link:
    # a saved prompt is the user's copy: it outlives the history entry it came from
    owner = await user(conn)
    entry = await history(conn, owner)
    saved = await insert(conn, "prompts.saved_prompts", prompt_row(owner, history_id=entry))
    return Link("prompts.history", entry, "prompts.saved_prompts", saved, ("history_id", "history_created_at"),
                Fate.NULLED)  # fmt: skip


async def membership(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """(collection, saved prompt, the membership linking them), all of one new user."""
    owner = await user(conn)
    collection = await insert(conn, "prompts.collections", {"user_id": owner, "name": "c"})
    saved = await insert(conn, "prompts.saved_prompts", prompt_row(owner))
    entry = await insert(conn, "prompts.collection_prompts", {"collection_id": collection, "saved_prompt_id": saved,
                                                              "position": 0})  # fmt: skip
    return collection, saved, entry


@foreign_key("prompts.collection_prompts.collection_prompts_collection_id_fkey")
async def collection_entries(conn: asyncpg.Connection) -> Link:
    # deleting a collection removes its memberships, not the prompts
    collection, _, entry = await membership(conn)
    return Link("prompts.collections", collection, "prompts.collection_prompts", entry, ("collection_id",),
                Fate.DELETED)  # fmt: skip


@foreign_key("prompts.collection_prompts.collection_prompts_saved_prompt_id_fkey")
async def saved_prompt_memberships(conn: asyncpg.Connection) -> Link:
    # deleting a saved prompt takes it out of every collection
    _, saved, entry = await membership(conn)
    return Link("prompts.saved_prompts", saved, "prompts.collection_prompts", entry, ("saved_prompt_id",),
                Fate.DELETED)  # fmt: skip


# --- the tests -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(UNIQUE_KEYS))
async def test_a_row_colliding_on_a_unique_key_is_refused_by_that_key(pg_conn: asyncpg.Connection, key: str) -> None:
    case = await UNIQUE_KEYS[key](pg_conn)
    await insert(pg_conn, case.table, case.first)
    for near_miss in case.near_misses:
        await insert(pg_conn, case.table, near_miss)
    with pytest.raises(asyncpg.UniqueViolationError) as refused:
        await insert(pg_conn, case.table, case.clash)
    assert refused.value.constraint_name == key.rsplit(".", 1)[1]


@pytest.mark.parametrize("fk", sorted(FOREIGN_KEYS))
async def test_deleting_a_parent_gives_the_child_its_documented_fate(pg_conn: asyncpg.Connection, fk: str) -> None:
    link = await FOREIGN_KEYS[fk](pg_conn)
    delete = f"DELETE FROM {link.parent_table} WHERE id = $1"
    if link.fate is Fate.REFUSED:
        with pytest.raises(asyncpg.ForeignKeyViolationError) as refused:
            await pg_conn.execute(delete, link.parent_id)
        assert refused.value.constraint_name == fk.rsplit(".", 1)[1]
        return
    assert await pg_conn.execute(delete, link.parent_id) == "DELETE 1"
    child = await pg_conn.fetchrow(f"SELECT {', '.join(link.columns)} FROM {link.child_table} WHERE id = $1",
                                   link.child_id)  # fmt: skip
    if link.fate is Fate.DELETED:
        assert child is None, f"{fk}: the child survived its parent's delete"
    else:
        assert child is not None, f"{fk}: the child was deleted, not detached"
        assert dict(child) == dict.fromkeys(link.columns)


async def test_every_unique_key_of_the_app_schemas_has_a_collision_case(pg_conn: asyncpg.Connection) -> None:
    """Surrogate primary keys (on `id`) and partitions' copies of their parent's index carry no domain rule."""
    catalog = await pg_conn.fetch(
        """SELECT format('%s.%s.%s', n.nspname, t.relname, i.relname) AS name
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE x.indisunique AND n.nspname = ANY ($1::text[]) AND NOT t.relispartition
             AND NOT (x.indisprimary AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = t.oid
                                                 AND a.attname = 'id' AND a.attnum = ANY (x.indkey::int2[])))""",
        APP_SCHEMAS,
    )
    assert {r["name"] for r in catalog} - set(UNIQUE_KEYS) == set()


async def test_every_foreign_key_of_the_app_schemas_has_a_delete_case(pg_conn: asyncpg.Connection) -> None:
    """Partitions' clones of a parent's FK (conparentid <> 0) follow the parent's and are not listed."""
    catalog = await pg_conn.fetch(
        """SELECT format('%s.%s.%s', n.nspname, t.relname, c.conname) AS name
           FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE c.contype = 'f' AND c.conparentid = 0 AND n.nspname = ANY ($1::text[])""",
        APP_SCHEMAS,
    )
    assert {r["name"] for r in catalog} - set(FOREIGN_KEYS) == set()
