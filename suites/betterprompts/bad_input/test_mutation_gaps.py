"""What the Python mutants of the value checks showed the suites did not pin: every refusal's reason
(what the value must be and what kind it was, never the value itself), and each bound at its edge."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.postgres import checks as c

INT8 = "must be between -9223372036854775808 and 9223372036854775807"
REFUSALS: list[tuple[Callable[[], object], str]] = [
    (lambda: c.as_uuid("f", 7), "not a UUID (a int)"),
    (lambda: c.as_uuid("f", "-" * 33 + "0" * 32), "not a UUID (a str)"),
    (lambda: c.checked_int("f", "7"), "must be an integer, got a str"),
    (lambda: c.checked_int("f", 10**25), f"{INT8}, got 10000000000000000000000000"),
    (lambda: c.checked_int("f", 10**30), f"{INT8}, got an integer of 31 digits"),
    (lambda: c.checked_float("f", "1.5"), "must be a number, got a str"),
    (lambda: c.checked_float("f", math.nan), "must be a finite number"),
    (lambda: c.checked_float("f", 2.5, 0, 1), "must be between 0 and 1, got 2.5"),
    (lambda: c.checked_decimal("f", Decimal("NaN")), "must be a finite number"),
    (lambda: c.checked_decimal("f", True), "must be a number, got a bool"),
    (lambda: c.checked_decimal("f", math.inf), "must be a finite number"),
    (lambda: c.checked_bool("f", 1), "must be True or False, got a int"),
    (lambda: c.checked_text("f", b"x"), "must be text, got a bytes"),
    (lambda: c.checked_text("f", "abcdef", 5), "6 characters exceed 5"),
    (lambda: c.checked_text("f", "a\x00b"), "contains a NUL character, which PostgreSQL text cannot store"),
    (lambda: c.checked_text("f", "a\ud800"), "has no UTF-8 form (surrogates not allowed at character 1)"),
    (lambda: c.checked_texts("f", "abc"), "must be a list of texts, got a str"),
    (lambda: c.checked_password("f", "é" * 37), "74 UTF-8 bytes exceed bcrypt's 72"),
    (lambda: c.checked_date("f", datetime(2026, 1, 1, tzinfo=UTC)), "must be a date, got a datetime"),
    (lambda: c.checked_datetime("f", date(2026, 1, 1)), "must be a datetime, got a date"),
    (lambda: c.checked_ip("f", 7), "not an IP address (a int)"),
    (lambda: c.checked_ip("f", "not an address"), "not an IP address (a str)"),
    (lambda: c.checked_vector("f", "1,2,3", None), "not a sequence of numbers (a str)"),
    (lambda: c.checked_vector("f", ["a"], None), "not a sequence of numbers"),
    (lambda: c.checked_vector("f", [[1.0, 2.0]], None), "must be one-dimensional, got 2 dimensions"),
    (lambda: c.checked_vector("f", [1.0], 2), "expected 2 dimensions, got 1"),
    (lambda: c.checked_vector("f", [math.nan], None), "contains NaN or infinity (or a number beyond float32)"),
    (lambda: c.checked_json("f", None), "must be a JSON document (None is SQL NULL, not JSON)"),
    (lambda: c.checked_json("f", {1: "x"}), "JSON object keys must be text, got a int"),
    (lambda: c.checked_json("f", [math.inf]), "JSON has no NaN or infinity"),
    (lambda: c.checked_json("f", {"a\x00": 1}), "contains a NUL character, which PostgreSQL text cannot store"),
    (lambda: c.checked_json("f", {"a": b"x"}), "not JSON-serialisable: a bytes"),
    (lambda: c.checked_json("f", "x" * 999_999), "JSON of 1000001 bytes exceeds 1000000"),
    (lambda: c.checked_choice("f", "x" * 40, ["a", "b"]), f"must be one of a, b, got {'x' * 40!r}"),
    (lambda: c.checked_choice("f", "x" * 41, ["a", "b"]), "must be one of a, b, got a str"),
    (lambda: c.checked_choice("f", ["a"], ["a", "b"]), "must be one of a, b, got a list"),
]


@pytest.mark.parametrize(("check", "reason"), REFUSALS, ids=[reason[:40] for _, reason in REFUSALS])
def test_each_refusal_names_the_field_and_says_what_the_value_must_be(check: Callable[[], object], reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check()
    assert (refused.value.field, refused.value.reason) == ("f", reason)


def test_an_integer_too_long_for_json_is_refused_with_pythons_reason() -> None:
    with pytest.raises(InvalidInput) as refused:
        c.checked_json("f", [10**5000])
    assert refused.value.field == "f"
    assert refused.value.reason.startswith("not JSON-serialisable: Exceeds the limit")


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (lambda v: c.as_uuid("f", v), "-" * 32 + "0" * 32),  # 64 characters, hyphens anywhere
        (lambda v: c.checked_float("f", v, 0.0, 1.0), 0.0),
        (lambda v: c.checked_float("f", v, 0.0, 1.0), 1.0),
        (lambda v: c.checked_text("f", v, 5), "abcde"),
        (lambda v: c.checked_text("f", v), "a" * 1_000_000),
        (lambda v: c.checked_password("f", v), "é" * 36),  # 72 UTF-8 bytes
        (lambda v: c.checked_ip("f", v), "10.0.0.1"),
        (lambda v: c.checked_ip("f", v), "fe80::1%" + "a" * 56),  # a zone id: 64 characters, still an address
        (lambda v: c.checked_json("f", v), "x" * 999_998),  # 1 000 000 bytes once quoted
        (lambda v: c.checked_choice("f", v, ["a", "b"]), "b"),
    ],
    ids=["uuid-64", "float-low", "float-high", "text-max", "text-default-max", "password-72-bytes", "ip", "ip-64",
         "json-max-bytes", "choice"],
)  # fmt: skip
def test_a_value_at_a_bound_is_accepted(check: Callable[[Any], object], value: object) -> None:
    check(value)


def test_a_uuid_or_an_ip_longer_than_64_characters_is_refused_even_when_it_parses() -> None:
    with pytest.raises(InvalidInput):
        c.as_uuid("f", "-" * 33 + "0" * 32)
    with pytest.raises(InvalidInput):
        c.checked_ip("f", "fe80::1%" + "a" * 57)


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_json_nests_64_levels_deep_and_no_deeper() -> None:
    assert c.checked_json("f", nested(64)) == nested(64)
    with pytest.raises(InvalidInput) as refused:
        c.checked_json("f", nested(65))
    assert refused.value.reason == "JSON nested deeper than 64 levels"


def test_a_decimal_column_takes_exact_integers_up_to_10_to_the_1000_and_finite_reals() -> None:
    assert c.checked_decimal("f", 10**1000) == 10**1000
    assert c.checked_decimal("f", -(10**1000)) == -(10**1000)
    assert type(c.checked_decimal("f", 10**400)) is int  # exact, not a float (which would be infinite)
    assert c.checked_decimal("f", 1.5) == 1.5
    for huge in (10**1000 + 1, -(10**1000) - 1):
        with pytest.raises(InvalidInput) as refused:
            c.checked_decimal("f", huge)
        assert refused.value.field == "f"
        assert refused.value.reason.startswith("must be between")


def test_a_number_beyond_float32_is_refused_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidInput) as refused:
            c.checked_vector("f", [1e39], 1)
    assert refused.value.reason == "contains NaN or infinity (or a number beyond float32)"
