"""Checks on the values a caller passes, made before any SQL: each refusal is an InvalidInput
naming the field. The server refuses most of these too, but as a driver error, without the
column's name, or not at all (a bool taken for an int, NaN in a real, a 900-deep JSON that
overflows Python's stack first). Each check returns the value to send."""

from __future__ import annotations

import json
import math
import numbers
import operator
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network, ip_interface
from typing import Any, TypeVar
from uuid import UUID

import numpy as np

from betterprompts_db.data.errors import InvalidInput

INT8 = (-(2**63), 2**63 - 1)  # bigint, the widest integer column; the driver refuses more for int4/int2
INT4 = (-(2**31), 2**31 - 1)  # integer: for the arguments of a statement or function declared so
REAL_MAX = 3.4028234663852886e38  # real (float4): for the arguments of a statement or function declared so
MAX_TEXT = 1_000_000  # characters of one text value: ten times the longest CHECKed column
MAX_JSON_BYTES = 1_000_000
MAX_JSON_DEPTH = 64  # nesting of one JSON value; metadata needs a handful of levels
BCRYPT_MAX_BYTES = 72  # bcrypt reads no further: a longer password would be silently truncated
J = TypeVar("J")
IP_TYPES = (IPv4Address, IPv6Address, IPv4Interface, IPv6Interface, IPv4Network, IPv6Network)


def kind_of(value: object) -> str:
    """A value's type for a message: never the value, which may be a secret or a megabyte."""
    return type(value).__name__


def as_uuid(field: str, value: object) -> UUID:
    """`value` as a UUID, or InvalidInput naming `field` (never a server error)."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and len(value) <= 64:
        try:
            return UUID(value)
        except ValueError:
            pass
    raise InvalidInput(field, f"not a UUID (a {kind_of(value)})")


def checked_int(field: str, value: object, low: int = INT8[0], high: int = INT8[1]) -> int:
    """An integer (not a bool, not a float or a numeric string) within [low, high], as a plain int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInput(field, f"must be an integer, got a {kind_of(value)}")
    number = operator.index(value)  # a plain int whatever the subclass says of itself
    if not low <= number <= high:
        shown = number if abs(number) < 10**30 else f"an integer of {len(str(abs(number)))} digits"
        raise InvalidInput(field, f"must be between {low} and {high}, got {shown}")
    return number


def checked_float(field: str, value: object, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite real number (not a bool) within [low, high]: PostgreSQL stores NaN and infinity,
    and NaN passes `CHECK (x >= 0)`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise InvalidInput(field, f"must be a number, got a {kind_of(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidInput(field, "must be a finite number")
    if not low <= number <= high:
        raise InvalidInput(field, f"must be between {low:g} and {high:g}, got {number:g}")
    return number


def checked_decimal(field: str, value: object) -> Decimal | float | int:
    """A finite number for a numeric column (its precision is the server's to check)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidInput(field, "must be a finite number")
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return checked_int(field, value, -(10**1000), 10**1000)
    return checked_float(field, value)


def checked_bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, f"must be True or False, got a {kind_of(value)}")
    return value


def checked_text(field: str, value: object, max_chars: int = MAX_TEXT) -> str:
    """A str PostgreSQL can store: no NUL, no lone surrogate (no UTF-8 for it), at most `max_chars`."""
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be text, got a {kind_of(value)}")
    if len(value) > max_chars:
        raise InvalidInput(field, f"{len(value)} characters exceed {max_chars}")
    if "\x00" in value:
        raise InvalidInput(field, "contains a NUL character, which PostgreSQL text cannot store")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            raise InvalidInput(field, f"has no UTF-8 form ({exc.reason} at character {exc.start})") from None
    return value


def checked_texts(field: str, value: object) -> list[str]:
    """A list or tuple of texts (a text[] column); a lone str is refused, not split into letters."""
    if not isinstance(value, list | tuple):
        raise InvalidInput(field, f"must be a list of texts, got a {kind_of(value)}")
    return [checked_text(field, item) for item in value]


def checked_password(field: str, value: object) -> str:
    """Text that bcrypt reads whole: at most 72 UTF-8 bytes (longer is refused, not truncated)."""
    text = checked_text(field, value)
    size = len(text.encode())
    if size > BCRYPT_MAX_BYTES:
        raise InvalidInput(field, f"{size} UTF-8 bytes exceed bcrypt's {BCRYPT_MAX_BYTES}")
    return text


def checked_date(field: str, value: object) -> date:
    """A calendar date; a datetime is refused (which day it falls on depends on a time zone)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(field, f"must be a date, got a {kind_of(value)}")
    return value


def checked_datetime(field: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"must be a datetime, got a {kind_of(value)}")
    return value


def checked_ip(field: str, value: object) -> object:
    """An IP address or network, or text that parses as one."""
    if isinstance(value, IP_TYPES):
        return value
    if isinstance(value, str) and len(value) <= 64:
        try:
            ip_interface(value)
        except ValueError:
            pass
        else:
            return value
    raise InvalidInput(field, f"not an IP address (a {kind_of(value)})")


def checked_vector(field: str, value: object, dimension: int | None) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A one-dimensional array of finite float32s, `dimension` long when that is known."""
    if isinstance(value, str | bytes):
        raise InvalidInput(field, f"not a sequence of numbers (a {kind_of(value)})")
    try:
        with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf, refused below
            vector = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(field, "not a sequence of numbers") from None
    if vector.ndim != 1:
        raise InvalidInput(field, f"must be one-dimensional, got {vector.ndim} dimensions")
    if dimension is not None and vector.size != dimension:
        raise InvalidInput(field, f"expected {dimension} dimensions, got {vector.size}")
    if not np.isfinite(vector).all():
        raise InvalidInput(field, "contains NaN or infinity (or a number beyond float32)")
    return vector


def checked_json(field: str, value: J) -> J:
    """A JSON document of dicts (text keys), lists, text, finite numbers, bools and nulls, at most
    MAX_JSON_DEPTH deep and MAX_JSON_BYTES long; walked without recursion, so depth cannot blow
    Python's stack before it is refused."""
    if value is None:
        raise InvalidInput(field, "must be a JSON document (None is SQL NULL, not JSON)")
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list | tuple):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(field, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise InvalidInput(field, f"JSON object keys must be text, got a {kind_of(key)}")
                    checked_text(field, key)
                children: Sequence[object] = list(item.values())
            else:
                children = item
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            checked_text(field, item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInput(field, "JSON has no NaN or infinity")
        elif not (item is None or isinstance(item, bool | int)):
            raise InvalidInput(field, f"not JSON-serialisable: a {kind_of(item)}")
    try:
        size = len(json.dumps(value))
    except ValueError as exc:  # an int too long for str(): Python's own limit
        raise InvalidInput(field, f"not JSON-serialisable: {exc}") from None
    if size > MAX_JSON_BYTES:
        raise InvalidInput(field, f"JSON of {size} bytes exceeds {MAX_JSON_BYTES}")
    return value


def checked_choice(field: str, value: object, choices: Sequence[str]) -> str:
    """One of a closed set of names (an unhashable or non-text value is refused, not looked up)."""
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, str) and len(value) <= 40 else f"a {kind_of(value)}"
        raise InvalidInput(field, f"must be one of {', '.join(choices)}, got {shown}")
    return value
