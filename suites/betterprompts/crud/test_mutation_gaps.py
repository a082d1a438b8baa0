"""What the Python mutants of the repositories and the driver-error translation showed the suites
did not pin: every error names its table, column or argument and says what was wrong, a page's
default size and smallest limit, and COPY with rows in any key order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, fields, make_dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import pytest
import pytest_asyncio

from betterprompts_db.data.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Timeout, Unavailable
from betterprompts_db.data.postgres import DataLayer, connect
from betterprompts_db.data.postgres.records import User
from betterprompts_db.data.postgres.repository import Cursor, Repository
from betterprompts_db.data.postgres.translate import translate
from harness.pytest_plugin import Database
from suites.betterprompts.conftest import FAST_AUTH, HangGuards
from suites.betterprompts.crud.layers import impatient_layer

HASH = "$2b$04$" + "a" * 53
PROMPTS = "prompts.saved_prompts"


async def make_user(owner_data: DataLayer) -> Any:
    name = f"u{uuid.uuid4().hex[:8]}"
    return await owner_data.repos.users.create(email=f"{name}@example.com", username=name, password_hash=HASH)


@pytest_asyncio.fixture
async def impatient(fresh_database: Database, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """bp_owner with a 300 ms statement timeout: a statement stuck behind a lock is cancelled."""
    async with impatient_layer(fresh_database.dsn_as("bp_owner"), hang_guards) as layer:
        yield layer


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


async def test_a_taken_unique_key_is_a_conflict_naming_the_constraint_and_its_columns(owner_data: DataLayer) -> None:
    user = await make_user(owner_data)
    with pytest.raises(Conflict) as taken:
        await owner_data.repos.users.create(email=user.email.upper(), username="other", password_hash=HASH)
    assert str(taken.value) == "auth.users: users_email_lower_key already holds that lower(email)"


async def test_a_check_violation_says_which_table_refused_it_and_the_servers_words(owner_data: DataLayer) -> None:
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.users.create(email="t@example.com", username="tiered", password_hash=HASH, tier="gold")
    assert refused.value.field == "tier"
    assert refused.value.reason.startswith('auth.users refuses it (new row for relation "users" violates check')


async def test_a_privilege_refusal_names_the_table_and_a_row_security_one_says_why(data: DataLayer) -> None:
    someone = await data.auth.register(email="eve@example.com", username="eve", password="pw")
    with pytest.raises(PermissionDenied) as refused:
        async with data.db.transaction(user_id=someone.id):
            await data.repos.users.update(someone.id, role="admin")
    assert str(refused.value).startswith("auth.users: permission denied for table users")
    with pytest.raises(PermissionDenied) as copied:
        await data.repos.saved_prompts.copy([{"user_id": someone.id, "title": "t", "prompt_text": "p"}])
    assert str(copied.value).startswith(f"{PROMPTS}: ")
    assert str(copied.value).endswith("(a role under RLS inserts row by row)")


async def test_a_statement_past_the_command_timeout_is_a_timeout_naming_what_ran(
    fresh_database: Database, hang_guards: HangGuards
) -> None:
    settings = hang_guards.pool(command_timeout=0.2)  # the client gives up long before the server would
    layer = await connect(fresh_database.dsn_as("bp_owner"), settings, FAST_AUTH)
    try:
        with pytest.raises(Timeout) as late:
            await layer.db.fetchval("probe", "SELECT pg_sleep(5)")
    finally:
        await layer.close()
    assert str(late.value) == "probe: no answer within the command timeout"


@pytest_asyncio.fixture
async def one_connection(fresh_database: Database, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """bp_owner on a pool of one connection, so consecutive statements share a backend."""
    layer = await connect(fresh_database.dsn_as("bp_owner"), hang_guards.pool(min_size=1, max_size=1), FAST_AUTH)
    yield layer
    await layer.close()


async def end_mid_statement(layer: DataLayer, admin: asyncpg.Connection) -> None:
    """Run a long statement on `layer` while the server ends its backend (pg_terminate_backend)."""
    pid = await layer.db.fetchval("probe", "SELECT pg_backend_pid()")
    ender = asyncio.create_task(admin.fetchval("SELECT pg_terminate_backend($1) FROM pg_sleep(0.3)", pid))
    try:
        await layer.db.fetchval("probe", "SELECT pg_sleep(5)")
    finally:
        assert await ender


async def test_a_connection_the_server_ends_mid_statement_is_unavailable_naming_what_ran(
    one_connection: DataLayer, admin: asyncpg.Connection
) -> None:
    with pytest.raises(Unavailable) as ended:
        await end_mid_statement(one_connection, admin)
    assert str(ended.value).startswith("probe: the server is unreachable or dropped the connection (")
    assert "terminating connection due to administrator command" in str(ended.value)
    assert await one_connection.db.fetchval("probe", "SELECT 1") == 1  # the pool replaced it


@pytest.mark.parametrize(
    "error", [asyncpg.AdminShutdownError, asyncpg.CrashShutdownError, asyncpg.CannotConnectNowError]
)
def test_a_server_going_down_or_starting_up_is_unavailable_naming_what_ran(error: type[asyncpg.PostgresError]) -> None:
    """SQLSTATE class 57P: what a server mid-shutdown or mid-start answers a connection attempt."""
    mapped = translate(error("the database system is shutting down"), "connecting")
    assert isinstance(mapped, Unavailable)
    assert str(mapped) == "connecting: the database system is shutting down"


@pytest.mark.xfail(
    strict=True,
    reason="database.py's _quietly calls conn.is_closed() outside its suppress: inside a unit of work the "
    "rollback of a connection the server ended raises 'transaction: ... released back to the pool' instead",
)
async def test_a_connection_the_server_ends_inside_a_unit_of_work_reports_the_callers_statement(
    one_connection: DataLayer, admin: asyncpg.Connection
) -> None:
    with pytest.raises(Unavailable) as ended:
        async with one_connection.db.transaction():
            await end_mid_statement(one_connection, admin)
    assert str(ended.value).startswith("probe: the server is unreachable or dropped the connection (")


async def test_an_error_of_the_callers_own_sql_is_not_mistaken_for_an_outage(owner_data: DataLayer) -> None:
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await owner_data.db.fetchval("probe", "SELEC 1")


async def test_under_row_security_a_conflict_names_the_constraint_but_not_its_columns(data: DataLayer) -> None:
    """PostgreSQL leaves out the key's detail for a role under row-level security: 'that value'."""
    await data.auth.register(email="dup@example.com", username="dup1", password="pw")
    with pytest.raises(Conflict) as taken:
        await data.auth.register(email="DUP@example.com", username="dup2", password="pw")
    assert str(taken.value) == "auth.users: users_email_lower_key already holds that value"


@dataclass(slots=True)
class Unchecked:
    id: UUID
    span: timedelta
    blob: bytes


def test_a_record_with_a_type_no_check_covers_is_refused_naming_its_fields(owner_data: DataLayer) -> None:
    with pytest.raises(TypeError) as refused:
        Repository(owner_data.db, "auth.users", Unchecked)
    assert str(refused.value) == "Unchecked: no value check for the type of blob, span"


def reordered(record: type, first: tuple[str, ...]) -> type:
    """`record`'s fields with `first` moved to the front: the same columns, another order."""
    types = {f.name: f.type for f in fields(record)}  # as written: the repository reads them so
    order = [*first, *(name for name in types if name not in first)]
    return make_dataclass(f"{record.__name__}ByName", [(name, types[name]) for name in order], slots=True)


UserByName = reordered(User, ("username", "email"))  # auth.users' columns in another order than the table's


async def test_a_record_whose_fields_are_ordered_otherwise_than_the_table_gets_each_value_by_name(
    owner_data: DataLayer,
) -> None:
    user = await make_user(owner_data)
    by_name: Repository[Any] = Repository(owner_data.db, "auth.users", UserByName)
    for _ in range(2):  # the first row decides how later rows are read
        found = await by_name.get(user.id)
        assert (found.username, found.email, found.id) == (user.username, user.email, user.id)


@pytest.mark.parametrize(
    ("values", "field"),
    [({"nickname": "x"}, "nickname"), ({"n" * 100: "x"}, "n" * 64), ({"created_at": datetime.now(UTC)}, "created_at")],
    ids=["unknown", "long-unknown", "read-only"],
)  # fmt: skip
async def test_a_write_to_a_column_that_is_not_writable_is_refused_naming_it(
    owner_data: DataLayer, values: dict[Any, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.users.create(email="w@example.com", username="writer", password_hash=HASH, **values)
    assert (refused.value.field, refused.value.reason) == (field, "auth.users has no writable column of that name")


async def test_an_update_may_not_change_the_id_and_a_missing_row_is_not_found_naming_it(
    owner_data: DataLayer,
) -> None:
    user = await make_user(owner_data)
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.users.update(user.id, id=uuid.uuid4())
    assert (refused.value.field, refused.value.reason) == ("id", "auth.users has no writable column of that name")
    missing = uuid.uuid4()
    with pytest.raises(NotFound) as absent:
        await owner_data.repos.users.update(missing, tier="pro")
    assert str(absent.value) == f"auth.users: no row with id {missing}"


async def test_copy_rows_with_unknown_keys_of_any_type_name_the_first_in_text_order(owner_data: DataLayer) -> None:
    with pytest.raises(InvalidInput) as refused:
        await owner_data.repos.saved_prompts.copy([{7: "x", "zz": "y"}])  # type: ignore[dict-item]
    assert (refused.value.field, refused.value.reason) == ("7", f"{PROMPTS} has no writable column of that name")
