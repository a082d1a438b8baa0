"""What the Python mutants of the repositories, the value checks and the driver-error translation
showed the suites did not pin: every error names its table, column or argument and says what was
wrong, a page's default size and smallest limit, COPY with rows in any key order, and the edges of
the numeric, IP and vector checks."""

from __future__ import annotations

import math
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from harness.data.errors import InvalidInput, NotFound, Timeout
from harness.data.postgres import DataLayer, connect
from harness.data.postgres.checks import checked_decimal, checked_ip, checked_vector
from harness.data.postgres.repository import Cursor
from harness.data.postgres.translate import translate
from harness.pytest_plugin import Database
from suites.conftest import FAST_AUTH, HangGuards

HASH = "$2b$04$" + "a" * 53
PROMPTS = "prompts.saved_prompts"


async def make_user(owner_data: DataLayer) -> Any:
    name = f"u{uuid.uuid4().hex[:8]}"
    return await owner_data.repos.users.create(email=f"{name}@example.com", username=name, password_hash=HASH)


@pytest_asyncio.fixture
async def impatient(fresh_database: Database, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """bp_owner with a 300 ms statement timeout: a statement stuck behind a lock is cancelled."""
    layer = await connect(fresh_database.dsn_as("bp_owner"), hang_guards.pool(statement_timeout_ms=300), FAST_AUTH)
    yield layer
    await layer.close()


async def test_every_repository_call_stuck_behind_a_table_lock_times_out_naming_the_table(
    impatient: DataLayer, fresh_database: Database
) -> None:
    repo = impatient.repos.saved_prompts
    user = await make_user(impatient)
    prompt = await repo.create(user_id=user.id, title="t", prompt_text="p")
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: repo.find(prompt.id),
        lambda: repo.get(prompt.id),
        lambda: repo.lock(prompt.id),
        lambda: repo.list(),
        lambda: repo.create(user_id=user.id, title="t2", prompt_text="p"),
        lambda: repo.update(prompt.id, title="t3"),
        lambda: repo.delete(prompt.id),
        lambda: repo.copy([{"user_id": user.id, "title": "t4", "prompt_text": "p"}]),
    ]
    holder = await asyncpg.connect(fresh_database.dsn)
    try:
        async with holder.transaction():
            await holder.execute(f"LOCK TABLE {PROMPTS} IN ACCESS EXCLUSIVE MODE")
            for call in calls:
                with pytest.raises(Timeout) as stuck:
                    await call()
                assert str(stuck.value).startswith(f"{PROMPTS}: "), stuck.value
    finally:
        await holder.close()


async def test_locking_or_deleting_a_missing_row_is_not_found_naming_the_table_and_the_id(
    owner_data: DataLayer,
) -> None:
    missing = uuid.uuid4()
    for call in (owner_data.repos.saved_prompts.lock, owner_data.repos.saved_prompts.delete):
        with pytest.raises(NotFound) as absent:
            await call(missing)
        assert str(absent.value) == f"{PROMPTS}: no row with id {missing}"


async def test_an_update_without_changes_returns_the_row_as_it_is(owner_data: DataLayer) -> None:
    user = await make_user(owner_data)
    assert (await owner_data.repos.users.update(user.id)).email == user.email


async def test_a_page_holds_50_rows_unless_asked_and_a_limit_of_one_is_allowed(owner_data: DataLayer) -> None:
    user = await make_user(owner_data)
    rows = [{"user_id": user.id, "title": f"t{i}", "prompt_text": "p"} for i in range(51)]
    assert await owner_data.repos.saved_prompts.copy(rows) == 51
    page = await owner_data.repos.saved_prompts.list(filters={"user_id": user.id})
    assert (len(page.items), page.next is not None) == (50, True)
    single = await owner_data.repos.saved_prompts.list(filters={"user_id": user.id}, limit=1)
    assert (len(single.items), single.next is not None) == (1, True)


@pytest.mark.parametrize(
    ("arguments", "field", "reason"),
    [
        ({"filters": [("title", "t")]}, "filters", "must map column names to values, got a list"),
        ({"filters": {"titel": "t"}}, "titel", f"{PROMPTS} has no column of that name"),
        ({"filters": {"c" * 100: 1}}, "c" * 64, f"{PROMPTS} has no column of that name"),
        ({"filters": {7: 1, "zz": 1}}, "7", f"{PROMPTS} has no column of that name"),
        ({"after": {"id": "x"}}, "after", "must be the Cursor of a previous page, got a dict"),
    ],
    ids=["not-a-mapping", "unknown", "long-unknown", "mixed-key-types", "bad-cursor"],
)
async def test_a_page_request_is_refused_naming_what_and_saying_why(
    owner_data: DataLayer, arguments: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.saved_prompts.list(**arguments)
    assert (refused.value.field, refused.value.reason) == (field, reason)


async def test_a_filter_the_driver_refuses_is_named_even_on_a_later_page(owner_data: DataLayer) -> None:
    cursor = Cursor(datetime.now(UTC), uuid.uuid4())
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.api_metrics.list(filters={"request_size_bytes": 2**40}, after=cursor)
    assert refused.value.field == "request_size_bytes"
    assert refused.value.reason == "OverflowError: value out of int32 range"


async def test_copy_takes_rows_whose_columns_come_in_any_order(owner_data: DataLayer) -> None:
    user = await make_user(owner_data)
    rows = [
        {"user_id": user.id, "title": "first", "prompt_text": "p1"},
        {"prompt_text": "p2", "title": "second", "user_id": user.id},
    ]
    assert await owner_data.repos.saved_prompts.copy(rows) == 2
    stored = await owner_data.repos.saved_prompts.list(filters={"user_id": user.id})
    assert sorted((p.title, p.prompt_text) for p in stored.items) == [("first", "p1"), ("second", "p2")]
    assert await owner_data.repos.saved_prompts.copy([]) == 0


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ("title,prompt_text", "must be a list of rows, got a str"),
        ([["title", "t"]], "every row must map column names to values"),
        ([{"title": "a", "prompt_text": "p"}, {"title": "b"}],
         "every row must give the first row's columns: title, prompt_text"),
    ],
    ids=["a-string", "not-mappings", "other-columns"],
)  # fmt: skip
async def test_copy_refuses_what_is_not_rows_of_one_shape_saying_why(
    owner_data: DataLayer, rows: Any, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.saved_prompts.copy(rows)
    assert (refused.value.field, refused.value.reason) == ("rows", reason)


async def test_copy_names_the_one_column_too_wide_even_beside_a_value_at_the_lowest_bound(
    owner_data: DataLayer,
) -> None:
    row = {"endpoint": "/v1", "method": "GET", "status_code": 200, "response_time_ms": 1.0,
           "request_size_bytes": -(2**31), "response_size_bytes": 2**31}  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.api_metrics.copy([row])
    assert (refused.value.field, refused.value.reason) == ("response_size_bytes", "value out of int32 range")


async def test_copy_with_two_columns_too_wide_names_the_rows_and_the_encoders_error(owner_data: DataLayer) -> None:
    row = {"endpoint": "/v1", "method": "GET", "status_code": 200, "response_time_ms": 1.0,
           "request_size_bytes": 2**40, "response_size_bytes": 2**40}  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.api_metrics.copy([row])
    assert refused.value.field == "rows"
    assert refused.value.reason == "COPY cannot encode a value (OverflowError: value out of int32 range)"


async def test_a_missing_not_null_column_is_refused_naming_the_column(owner_data: DataLayer) -> None:
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.users.create(email="nopass@example.com", username="nopass")
    assert refused.value.field == "password_hash"


async def test_a_numeric_overflow_names_the_column_and_the_servers_reason(owner_data: DataLayer) -> None:
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.templates.create(
            name="t", category="c", technique="chain_of_thought", template_text="x", effectiveness_score=Decimal("12.5")
        )
    assert refused.value.field == "effectiveness_score"
    assert refused.value.reason == "numeric field overflow"


@pytest_asyncio.fixture
async def admin(fresh_database: Database) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(fresh_database.dsn)
    yield conn
    await conn.close()


async def test_an_exclusion_violation_names_the_column_from_the_servers_key_detail(
    admin: asyncpg.Connection,
) -> None:
    await admin.execute("CREATE TEMP TABLE bookings (room int, EXCLUDE USING btree (room WITH =))")
    await admin.execute("INSERT INTO bookings VALUES (1)")
    with pytest.raises(asyncpg.ExclusionViolationError) as raised:
        await admin.execute("INSERT INTO bookings VALUES (1)")
    mapped = translate(raised.value, "bookings")
    assert isinstance(mapped, InvalidInput)
    assert mapped.field == "room"


class Unencodable:
    """A value whose integer conversion fails with a long message."""

    def __index__(self) -> int:
        raise ValueError("x" * 500)

    def __int__(self) -> int:
        raise ValueError("x" * 500)


async def test_an_argument_the_driver_cannot_encode_is_named_by_position_with_a_short_reason(
    admin: asyncpg.Connection,
) -> None:
    for value, reason in [
        (2**40, "OverflowError: value out of int32 range"),
        (Unencodable(), "ValueError: " + "x" * 188),
    ]:
        with pytest.raises(asyncpg.DataError) as raised:
            await admin.fetch("SELECT $1::int4", value)
        mapped = translate(raised.value, "probe")
        assert isinstance(mapped, InvalidInput)
        assert (mapped.field, mapped.reason, mapped.argument) == ("argument $1 of probe", reason, 1)


def test_a_decimal_column_takes_exact_integers_up_to_10_to_the_1000_and_finite_reals() -> None:
    assert checked_decimal("score", 10**1000) == 10**1000
    assert checked_decimal("score", -(10**1000)) == -(10**1000)
    assert type(checked_decimal("score", 10**400)) is int  # exact, not a float (which would be infinite)
    assert checked_decimal("score", 1.5) == 1.5
    for huge in (10**1000 + 1, -(10**1000) - 1):
        with pytest.raises(InvalidInput) as refused:
            checked_decimal("score", huge)
        assert refused.value.field == "score"
        assert refused.value.reason.startswith("must be between")


@pytest.mark.parametrize(
    ("value", "reason"),
    [(Decimal("NaN"), "must be a finite number"), (True, "must be a number, got a bool"),
     (math.inf, "must be a finite number")],
    ids=repr,
)  # fmt: skip
def test_a_decimal_column_refuses_what_is_not_a_finite_number_saying_why(value: object, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_decimal("score", value)
    assert (refused.value.field, refused.value.reason) == ("score", reason)


def test_an_ip_column_takes_addresses_as_text_up_to_64_characters() -> None:
    assert checked_ip("ip", "10.0.0.1") == "10.0.0.1"
    scoped = "fe80::1%" + "a" * 56  # a zone id makes a long but valid address
    assert checked_ip("ip", scoped) == scoped
    for value, kind in [(scoped + "a", "str"), ("not an address", "str"), (7, "int")]:
        with pytest.raises(InvalidInput) as refused:
            checked_ip("ip", value)
        assert refused.value.reason == f"not an IP address (a {kind})"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("1,2,3", "not a sequence of numbers (a str)"), ([[1.0, 2.0]], "must be one-dimensional, got 2 dimensions"),
     (["a"], "not a sequence of numbers"), ([math.nan], "contains NaN or infinity (or a number beyond float32)")],
    ids=["text", "two-dimensional", "letters", "nan"],
)  # fmt: skip
def test_a_vector_refusal_says_what_is_wrong(value: object, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_vector("embedding", value, None)
    assert (refused.value.field, refused.value.reason) == ("embedding", reason)


def test_a_number_beyond_float32_is_refused_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidInput) as refused:
            checked_vector("embedding", [1e39], 1)
    assert "beyond float32" in refused.value.reason
