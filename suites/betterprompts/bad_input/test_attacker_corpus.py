"""The attacker's corpus: hostile values in every parameter of every repository and service
method are refused with the data layer's own error naming the field, before they can change
anything; no value a caller passes reaches SQL as text. The cases come from the records'
column types and the services' signatures; the database's owner checks afterwards that every
table is still there with the same rows, whichever role the data layer logs in as."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import numpy as np
import pytest
import pytest_asyncio

from betterprompts_db.data.errors import Conflict, DataError, InvalidInput, PermissionDenied
from betterprompts_db.data.postgres import Cursor, DataLayer, Enhancement, Repository
from betterprompts_db.data.postgres.checks import MAX_JSON_BYTES, MAX_TEXT
from betterprompts_db.data.postgres.records import RECORDS
from harness.pytest_plugin import Database

DROP = "x'; DROP TABLE auth.users; --"
INJECTIONS = [DROP, "serializable; DROP TABLE prompts.templates; --", "' OR 1=1 --", "$$; DELETE FROM auth.users; $$"]
NOW = datetime.now(UTC)
DAY = date.today()
DIMENSION = 768


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


TEXT: list[Any] = [5, b"bytes", ["list"], "nul\x00here", "lone \ud800 surrogate", "x" * (MAX_TEXT + 1)]
UUIDS: list[Any] = ["not-a-uuid", DROP, 5, "\ud800", b"\x00" * 16, "12345678-1234-1234-1234-12345678901z", "x" * 10_000]
INTS: list[Any] = [True, False, "5", 5.5, Decimal(5), math.nan, 2**63, -(2**63) - 1, 10**100, DROP]
JSON: list[Any] = [nested(900), {"k": nested(900)}, {"k": math.nan}, {"k": math.inf}, {"k": "\ud800"},
                   {"k": "\x00"}, {5: "a non-text key"}, {"k": object()}, {"k": {1, 2}}, {"k": b"bytes"},
                   {"k": "x" * (MAX_JSON_BYTES + 1)}]  # fmt: skip
VECTORS: list[Any] = ["abc", 5, {"a": 1}, [math.nan] * DIMENSION, [math.inf] * DIMENSION, [1e39] * DIMENSION,
           [1.0] * (DIMENSION - 1), [[1.0] * DIMENSION], ["x"] * DIMENSION]  # fmt: skip

# Hostile values for each type a record (or a service's signature) gives a value; every one is
# refused before the server sees it, so the answer is the same whichever role logs in.
HOSTILE: dict[str, list[Any]] = {
    "UUID": UUIDS,
    "str": TEXT,
    "bool": ["true", "false", 1, 0, np.bool_(True), DROP],
    "int": INTS,
    "float": [True, "0.5", math.nan, math.inf, -math.inf, 10**400, [0.5], complex(1, 1), DROP],
    "Decimal": [True, "0.5", Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), math.nan, [1], DROP],
    "datetime": ["tomorrow", DROP, 5, date(2024, 1, 1), math.nan],
    "date": ["2024-01-01", DROP, NOW, 20240101, math.nan, None],
    "list[str]": ["read", 5, [5], ["nul\x00"], ["\ud800"], [None], [["nested"]]],
    "dict[str, Any]": JSON,
    "dict[str, float]": JSON,
    "list[Any]": JSON,
    "Vector": VECTORS,
    "VectorLike": VECTORS,
    "IPAddress": ["not-an-ip", DROP, 5, "999.1.1.1", b"\x7f\x00\x00\x01", "1.2.3.4/99"],
}
# Beyond a column's width: the driver refuses these, and the layer names the column.
BEYOND: dict[str, list[Any]] = {
    "smallint": [2**15, -(2**15) - 1],
    "integer": [2**31, -(2**31) - 1],
    "real": [1e39, -1e39],
}


def base(annotation: str) -> str:
    return annotation.removesuffix(" | None")


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


Function = Callable[..., Awaitable[object]]


async def refused(field: str, function: Function, /, *args: Any, **kwargs: Any) -> str | None:
    """None when the call raises InvalidInput naming `field`; otherwise what happened instead."""
    try:
        await function(*args, **kwargs)
    except InvalidInput as exc:
        return None if exc.field == field else f"InvalidInput naming {exc.field!r}: {exc.reason[:100]}"
    except Exception as exc:
        return f"{type(exc).__module__}.{type(exc).__name__}: {str(exc)[:100]}"
    return "accepted"


class Catalog:
    """The database as its owner sees it, whatever role the data layer logs in as."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def census(self) -> dict[str, tuple[int, str | None]]:
        """Every table of the three schemas: its row count and an md5 over its rows."""
        tables = await self.conn.fetch(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('auth', 'prompts', 'analytics') AND c.relkind IN ('r', 'p')"
            " AND NOT c.relispartition ORDER BY 1"
        )
        result = {}
        for (table,) in tables:
            row = await self.conn.fetchrow(
                f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"
            )
            result[table] = (row[0], row[1])
        return result

    async def types(self, table: str) -> dict[str, str]:
        rows = await self.conn.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
            table,
        )
        return {name: kind for name, kind in rows}


@pytest_asyncio.fixture
async def catalog(fresh_database: Database) -> AsyncIterator[Catalog]:
    conn = await asyncpg.connect(fresh_database.dsn)
    yield Catalog(conn)
    await conn.close()


# --- Transactions: the isolation level, readonly and the acting user never become SQL text ----------


@pytest.mark.parametrize("isolation", [*INJECTIONS, "SERIALIZABLE", "read committed", "", None, 1, b"serializable",
                                       ["serializable"]])  # fmt: skip
async def test_an_isolation_level_outside_the_three_is_refused_before_any_sql(
    data: DataLayer, catalog: Catalog, isolation: Any
) -> None:
    before = await catalog.census()
    with pytest.raises(InvalidInput) as error:
        async with data.db.transaction(isolation=isolation):
            pass
    assert error.value.field == "isolation"
    with pytest.raises(InvalidInput) as error:
        await data.db.retrying(lambda: data.db.fetchval("one", "SELECT 1"), isolation=isolation)
    assert error.value.field == "isolation"
    assert await catalog.census() == before  # prompts.templates is still there, and nothing else changed


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("readonly", "true; DROP TABLE prompts.templates; --"), ("readonly", 1), ("readonly", None),
     ("readonly", "false"), *[("user_id", value) for value in UUIDS]],
)  # fmt: skip
async def test_readonly_and_the_acting_user_are_checked_before_any_sql(
    data: DataLayer, catalog: Catalog, parameter: str, value: Any
) -> None:
    before = await catalog.census()
    with pytest.raises(InvalidInput) as error:
        async with data.db.transaction(**{parameter: value}):
            pass
    assert error.value.field == parameter
    assert await catalog.census() == before


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("attempts", 0), ("attempts", -1), ("attempts", "5"), ("attempts", True), ("attempts", 10**6),
     ("attempts", 2.0), ("work", None), ("work", "SELECT 1"), *[("user_id", value) for value in UUIDS[:3]]],
)  # fmt: skip
async def test_retrying_checks_its_arguments_before_the_first_attempt(
    data: DataLayer, parameter: str, value: Any
) -> None:
    arguments: dict[str, Any] = {"work": lambda: data.db.fetchval("one", "SELECT 1"), parameter: value}
    with pytest.raises(InvalidInput) as error:
        await data.db.retrying(arguments.pop("work"), **arguments)
    assert error.value.field == parameter


# --- Repositories: every column of every table, through create, update, list and COPY ------------


def repository(data: DataLayer, table: str) -> Repository[Any]:
    return next(repo for repo in data.repos.all() if repo.table == table)


Calls = list[tuple[str, Function, tuple[Any, ...], dict[str, Any]]]


def column_calls(repo: Repository[Any], column: str, value: Any, copy: bool) -> Calls:
    """Every way a value reaches `column`: as a filter, and if it is writable, created, updated, copied."""
    calls: Calls = [("list", repo.list, (), {"filters": {column: value}})]
    if column in repo.writable:
        calls += [
            ("create", repo.create, (), {column: value}),
            ("update", repo.update, (uuid.uuid4(),), {column: value}),
        ]
        if copy:
            calls.append(("copy", repo.copy, ([{column: value}],), {}))
    return calls


@pytest.mark.parametrize("table", sorted(RECORDS))
async def test_every_column_refuses_hostile_values_naming_the_column(
    data: DataLayer, catalog: Catalog, table: str
) -> None:
    """Each column of the table, with the hostile values for the type its record gives it and
    the values just beyond its width in the catalog (which COPY, under row-level security for the
    application role, never gets to encode: see the owner's test below)."""
    repo = repository(data, table)
    types = await catalog.types(table)
    before = await catalog.census()
    escaped = []
    for f in dataclasses.fields(RECORDS[table]):
        column = f.name
        cases = [(value, True) for value in HOSTILE[base(str(f.type))] if value is not None]
        cases += [(value, False) for value in BEYOND.get(types[column], [])]
        for value, copy in cases:
            for name, function, args, kwargs in column_calls(repo, column, value, copy):
                if (problem := await refused(column, function, *args, **kwargs)) is not None:
                    escaped.append(f"{name}({column}={shown(value)}): {problem}")
    assert escaped == []
    assert await catalog.census() == before


ROW_ARGUMENTS: list[tuple[str, str, Any]] = [
    *[("find", "id", value) for value in UUIDS],
    *[("get", "id", value) for value in UUIDS],
    *[("lock", "id", value) for value in UUIDS],
    *[("delete", "id", value) for value in UUIDS],
    *[("update", "id", value) for value in UUIDS],
    *[("list", "limit", value) for value in [0, -1, 1001, True, "5", 5.5, None, 2**70, DROP]],
    *[("list", "filters", value) for value in ["abc", 5, [("id", 1)], DROP]],
    *[("list", "after", value) for value in ["x", 5, (NOW, uuid.uuid4()), {"created_at": NOW, "id": uuid.uuid4()},
                                             Cursor("2024-01-01", uuid.uuid4()), Cursor(NOW, "not-a-uuid"),  # type: ignore[arg-type]
                                             Cursor(NOW, DROP), Cursor(date(2024, 1, 1), uuid.uuid4())]],  # type: ignore[arg-type]
    *[("copy", "rows", value) for value in ["abc", 5, {"email": "a@b.co"}, [5], [None]]],
]  # fmt: skip


@pytest.mark.parametrize("table", sorted(RECORDS))
async def test_every_repository_method_refuses_a_hostile_id_page_or_batch(
    data: DataLayer, catalog: Catalog, table: str
) -> None:
    repo = repository(data, table)
    before = await catalog.census()
    escaped = []
    for method, field, value in ROW_ARGUMENTS:
        function = getattr(repo, method)
        if method == "list":
            problem = await refused(field, function, **{field: value})
        elif method == "update":
            problem = await refused(field, function, value, created_at=NOW)
        else:
            problem = await refused(field, function, value)
        if problem is not None:
            escaped.append(f"{method}({field}={shown(value)}): {problem}")
    assert escaped == []
    assert await catalog.census() == before


@pytest.mark.parametrize(
    "names",
    [{"nickname": 1}, {DROP: 1}, {"email) VALUES ('x'); DROP TABLE auth.users; --": 1}, {"id = id; --": 1},
     {"created_at": NOW}],
)  # fmt: skip
async def test_a_column_name_the_table_lacks_is_refused_by_name(
    data: DataLayer, catalog: Catalog, names: dict[str, Any]
) -> None:
    (name,) = names
    before = await catalog.census()
    users = data.repos.users
    assert await refused(name[:64], users.create, **names) is None
    assert await refused(name[:64], users.update, uuid.uuid4(), **names) is None
    assert await refused(name[:64], users.copy, [names]) is None
    if name != "created_at":  # a read-only column is still one to filter on
        assert await refused(name[:64], users.list, filters=names) is None
    assert await catalog.census() == before


async def test_copy_refuses_rows_that_give_other_columns_than_the_first(data: DataLayer, catalog: Catalog) -> None:
    before = await catalog.census()
    rows = [{"email": "a@example.com", "username": "a"}, {"username": "b", "password_hash": "h"}]
    assert await refused("rows", data.repos.users.copy, rows) is None
    assert await catalog.census() == before


OWNER_ONLY: list[tuple[str, str, dict[str, Any]]] = [
    ("create", "prompts.templates", {"name": "n", "technique": "few_shot", "category": "reasoning",
                                     "template_text": "t", "effectiveness_score": Decimal(10) ** 30}),
    ("create", "analytics.technique_effectiveness", {"technique": "few_shot", "intent": "reasoning", "day": DAY,
                                                     "avg_feedback_score": Decimal(100)}),
    ("copy", "prompts.intent_patterns", {"pattern": "p", "intent": "reasoning", "confidence": 1e39}),
    ("copy", "auth.users", {"email": "w@example.com", "username": "wide", "password_hash": "h",
                            "failed_login_attempts": 2**31}),
    ("copy", "analytics.api_metrics", {"endpoint": "/", "method": "GET", "response_time_ms": 1.0,
                                       "status_code": 2**15}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "table", "values"), OWNER_ONLY, ids=[f"{m}-{t}" for m, t, _ in OWNER_ONLY])
async def test_a_value_only_the_server_or_copy_can_judge_is_refused_naming_the_column(
    owner_data: DataLayer, catalog: Catalog, method: str, table: str, values: dict[str, Any]
) -> None:
    """A numeric overflow (only the server knows the precision) and a value too wide for COPY's
    encoder name no column of their own; the layer names it. As the owner: the application role
    may not write these tables, or not by COPY."""
    column = list(values)[-1]  # the last value is the one at fault
    repo = repository(owner_data, table)
    before = await catalog.census()
    if method == "create":
        assert await refused(column, repo.create, **values) is None
    else:
        assert await refused(column, repo.copy, [values]) is None
    assert await catalog.census() == before


async def test_copy_under_row_level_security_is_a_permission_error_not_a_driver_error(
    data: DataLayer, catalog: Catalog
) -> None:
    """As the application role (bp_app), COPY meets row-level security, which PostgreSQL refuses."""
    user = await data.auth.register(email="bulk@example.com", username="bulk", password="pw")
    before = await catalog.census()
    with pytest.raises(PermissionDenied):
        await data.repos.saved_prompts.copy([{"user_id": user.id, "title": "t", "prompt_text": "p"}])
    assert await catalog.census() == before


# --- Services: every parameter of every public method -----------------------------------------------


@dataclasses.dataclass
class World:
    """Rows a service call needs so that the hostile value is its only fault."""

    user: Any
    history: Any
    saved_prompt: Any
    collection: Any
    refresh_token: str


async def world(data: DataLayer) -> World:
    user = await data.auth.register(email="victim@example.com", username="victim", password="pw")
    issued = await data.auth.create_session(user.id)
    history = await data.prompts.record_enhancement(enhancement(user_id=user.id))
    async with data.db.transaction(user_id=user.id):
        saved = await data.repos.saved_prompts.create(user_id=user.id, title="t", prompt_text="p")
        collection = await data.repos.collections.create(user_id=user.id, name="c")
    return World(user, history, saved, collection, issued.refresh_token)


def enhancement(**changes: Any) -> Enhancement:
    values: dict[str, Any] = dict(
        user_id=None, request_id=f"req-{uuid.uuid4().hex}", original_input="sort a list",
        enhanced_output="Let's think step by step.", intent="code_generation", intent_confidence=0.9,
        techniques_used=["chain_of_thought"], processing_time_ms=120,
    )  # fmt: skip
    return Enhancement(**{**values, **changes})


Call = Callable[[DataLayer, World, dict[str, Any]], Awaitable[object]]
PASSWORDS = [*TEXT[:5], "x" * 73, "\u00e9" * 37]  # 73 ASCII bytes; 37 two-byte letters = 74 bytes


@dataclasses.dataclass(frozen=True)
class Method:
    """A public service method: how to call it with valid arguments, and for each parameter the
    hostile values to try there and the field the refusal must name."""

    name: str
    call: Call
    parameters: dict[str, tuple[list[Any], str]]


def param(values: list[Any], field: str = "") -> tuple[list[Any], str]:
    return values, field


METHODS = [
    Method("auth.hash_password", lambda d, w, a: d.auth.hash_password(**{"password": "pw", **a}),
           {"password": param(PASSWORDS)}),
    Method("auth.register", lambda d, w, a: d.auth.register(**{"email": "new@example.com", "username": "newbie",
                                                               "password": "pw", **a}),
           {"email": param(TEXT), "username": param(TEXT), "password": param(PASSWORDS)}),
    Method("auth.authenticate", lambda d, w, a: d.auth.authenticate(**{"email": w.user.email, "password": "pw", **a}),
           {"email": param(TEXT), "password": param(PASSWORDS)}),
    Method("auth.create_session", lambda d, w, a: d.auth.create_session(**{"user_id": w.user.id, **a}),
           {"user_id": param(UUIDS), "user_agent": param(TEXT), "ip": param(HOSTILE["IPAddress"])}),
    Method("auth.verify_session", lambda d, w, a: d.auth.verify_session(**{"token": "t", **a}),
           {"token": param(TEXT)}),
    Method("auth.refresh_session", lambda d, w, a: d.auth.refresh_session(
               **{"user_id": w.user.id, "refresh_token": w.refresh_token, **a}),
           {"user_id": param(UUIDS), "refresh_token": param(TEXT)}),
    Method("auth.revoke_session", lambda d, w, a: d.auth.revoke_session(
               **{"user_id": w.user.id, "session_id": uuid.uuid4(), **a}),
           {"user_id": param(UUIDS), "session_id": param(UUIDS)}),
    Method("auth.revoke_all_sessions", lambda d, w, a: d.auth.revoke_all_sessions(**{"user_id": w.user.id, **a}),
           {"user_id": param(UUIDS)}),
    Method("auth.create_api_key", lambda d, w, a: d.auth.create_api_key(**{"user_id": w.user.id, "name": "k", **a}),
           {"user_id": param(UUIDS), "name": param(TEXT), "scopes": param(HOSTILE["list[str]"]),
            "rate_limit": param(INTS + BEYOND["integer"]),
            "window_seconds": param(INTS + BEYOND["integer"], "rate_limit_window_seconds"),
            "expires_at": param(HOSTILE["datetime"])}),
    Method("auth.verify_api_key", lambda d, w, a: d.auth.verify_api_key(**{"key": "bp_x", **a}),
           {"key": param(TEXT)}),
    Method("auth.change_email", lambda d, w, a: d.auth.change_email(**{"user_id": w.user.id, "email": "e@x.co", **a}),
           {"user_id": param(UUIDS), "email": param(TEXT)}),
    Method("prompts.record_enhancement", lambda d, w, a: d.prompts.record_enhancement(a["e"]),
           {"e": param([None, "enhancement", {"user_id": None}, 5], "enhancement")}),
    Method("prompts.record_feedback", lambda d, w, a: d.prompts.record_feedback(
               **{"user_id": w.user.id, "history_id": w.history.id, "score": 5, **a}),
           {"user_id": param(UUIDS), "history_id": param(UUIDS), "score": param([0, 6, -1, *INTS], "feedback_score"),
            "text": param(TEXT, "feedback_text")}),
    Method("prompts.share_prompt", lambda d, w, a: d.prompts.share_prompt(
               **{"user_id": w.user.id, "saved_prompt_id": w.saved_prompt.id, **a}),
           {"user_id": param(UUIDS), "saved_prompt_id": param(UUIDS)}),
    Method("prompts.find_shared", lambda d, w, a: d.prompts.find_shared(**{"token": "t", **a}),
           {"token": param(TEXT)}),
    Method("prompts.add_to_collection", lambda d, w, a: d.prompts.add_to_collection(
               **{"user_id": w.user.id, "collection_id": w.collection.id, "saved_prompt_id": w.saved_prompt.id, **a}),
           {"user_id": param(UUIDS), "collection_id": param(UUIDS), "saved_prompt_id": param(UUIDS)}),
    Method("prompts.reorder_collection", lambda d, w, a: d.prompts.reorder_collection(
               **{"user_id": w.user.id, "collection_id": w.collection.id, "saved_prompt_ids": [], **a}),
           {"user_id": param(UUIDS), "collection_id": param(UUIDS),
            "saved_prompt_ids": param(["abc", 5, None, {uuid.uuid4()}, *[[v] for v in UUIDS]])}),
    Method("prompts.similar", lambda d, w, a: d.prompts.similar(**{"embedding": [1.0] * DIMENSION, **a}),
           {"embedding": param(VECTORS), "k": param([0, 1001, *INTS]), "user_id": param(UUIDS),
            "intent": param(TEXT), "source_type": param([DROP, "History", 5, ["history"], "\ud800"]),
            "ef_search": param([0, 1001, *INTS]), "probes": param([0, 32769, *INTS]),
            "exact": param(HOSTILE["bool"])}),
    Method("analytics.count_technique", lambda d, w, a: d.analytics.count_technique(
               **{"technique": "few_shot", "intent": "reasoning", "day": DAY, "succeeded": True,
                  "processing_time_ms": 1.0, **a}),
           {"technique": param(TEXT), "intent": param(TEXT), "day": param(HOSTILE["date"]),
            "succeeded": param(HOSTILE["bool"]), "processing_time_ms": param([-1.0, 1e39, *HOSTILE["float"]])}),
    Method("analytics.count_success", lambda d, w, a: d.analytics.count_success(
               **{"technique": "few_shot", "intent": "reasoning", "day": DAY, **a}),
           {"technique": param(TEXT), "intent": param(TEXT), "day": param(HOSTILE["date"])}),
    Method("analytics.record_api_metric", lambda d, w, a: d.analytics.record_api_metric(
               **{"endpoint": "/v1/enhance", "method": "POST", "status_code": 200, "response_time_ms": 1.0, **a}),
           {"endpoint": param(TEXT), "method": param(TEXT), "status_code": param([99, 600, *INTS]),
            "response_time_ms": param([-1.0, 1e39, *HOSTILE["float"]]), "api_key_id": param(UUIDS),
            "request_size_bytes": param([-1, 2**31, *INTS]), "response_size_bytes": param([-1, 2**31, *INTS]),
            "error_message": param(TEXT)}),
    Method("analytics.roll_up_day", lambda d, w, a: d.analytics.roll_up_day(**{"day": DAY, **a}),
           {"day": param(HOSTILE["date"])}),
]  # fmt: skip


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
async def test_every_service_parameter_refuses_hostile_values_naming_it(
    data: DataLayer, catalog: Catalog, method: Method
) -> None:
    rows = await world(data)
    before = await catalog.census()
    escaped = []
    for parameter, (values, field) in method.parameters.items():
        for value in values:
            problem = await refused(field or parameter, method.call, data, rows, {parameter: value})
            if problem is not None:
                escaped.append(f"{parameter}={shown(value)}: {problem}")
    assert escaped == []
    assert await catalog.census() == before


ENHANCEMENT_FIELDS = [(f.name, base(str(f.type))) for f in dataclasses.fields(Enhancement)]


@pytest.mark.parametrize(("field", "kind"), ENHANCEMENT_FIELDS, ids=[name for name, _ in ENHANCEMENT_FIELDS])
async def test_every_field_of_an_enhancement_refuses_hostile_values_for_users_and_visitors(
    data: DataLayer, catalog: Catalog, field: str, kind: str
) -> None:
    user = await data.auth.register(email="writer@example.com", username="writer", password="pw")
    optional = {f.name for f in dataclasses.fields(Enhancement) if str(f.type).endswith("| None")}
    values: list[Any] = [v for v in HOSTILE[kind] if v is not None] + ([] if field in optional else [None])
    if kind == "int":
        values += BEYOND["integer"]
    before = await catalog.census()
    escaped = []
    owners = [None] if field == "user_id" else [user.id, None]  # the user's path (repositories), a visitor's
    for owner in owners:
        for value in values:
            bad = enhancement(**{"user_id": owner, field: value})
            problem = await refused(field, data.prompts.record_enhancement, bad)
            if problem is not None:
                escaped.append(f"{field}={shown(value)} for {owner or 'a visitor'}: {problem}")
    assert escaped == []
    assert await catalog.census() == before


@pytest.mark.parametrize(
    "profile", [{"id": uuid.uuid4()}, {"password_hash": "$2b$04$" + "a" * 53}, {"nickname": "x"}, {"role": 5},
                {"metadata": nested(900)}, {"first_name": "\ud800"}, {"is_active": "yes"}],
)  # fmt: skip
async def test_registration_refuses_a_hostile_profile_naming_the_field(
    data: DataLayer, catalog: Catalog, profile: dict[str, Any]
) -> None:
    (field,) = profile
    before = await catalog.census()
    account = {"email": "p@example.com", "username": "profiled", "password": "pw"}
    assert await refused(field, data.auth.register, **account, **profile) is None
    assert await catalog.census() == before


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
async def test_sql_in_a_text_parameter_is_only_ever_text(data: DataLayer, catalog: Catalog, method: Method) -> None:
    """Text is any text: SQL in it is stored or looked up verbatim, or refused by the rules for
    that field, never run. Every table survives and none loses a row."""
    rows = await world(data)
    before = await catalog.census()
    for parameter, (values, _) in method.parameters.items():
        if values is TEXT:
            for text in INJECTIONS:
                with contextlib.suppress(DataError):
                    await method.call(data, rows, {parameter: text})
    after = await catalog.census()
    assert after.keys() == before.keys()
    assert all(after[table][0] >= count for table, (count, _) in before.items())


# --- Conflicts: the constraint and its columns, never another user's value ---------------------------


async def test_a_conflict_names_the_constraint_and_columns_never_the_value(data: DataLayer) -> None:
    bea = await data.auth.register(email="Bea.Secret@example.com", username="bea_secret", password="pw")
    await data.prompts.record_enhancement(enhancement(user_id=bea.id, request_id="req-b-secret-7f3a"))
    ann = await data.auth.register(email="ann@example.com", username="ann_public", password="pw")
    attempts: list[Callable[[], Awaitable[object]]] = [
        lambda: data.prompts.record_enhancement(enhancement(user_id=ann.id, request_id="req-b-secret-7f3a")),
        lambda: data.auth.register(email="bea.secret@EXAMPLE.com", username="other", password="pw"),
        lambda: data.auth.register(email="other@example.com", username="BEA_SECRET", password="pw"),
        lambda: data.auth.change_email(ann.id, "BEA.SECRET@example.com"),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as error:
            await attempt()
        message = str(error.value).lower()
        assert "secret" not in message, message
        assert "request_id" in message or "email" in message or "username" in message, message
