"""Bad input through the data layer: a typed error naming the field, and nothing half-written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.postgres import DataLayer
from suites.betterprompts.crud.test_repositories import HASH


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda d: d.repos.users.get("not-a-uuid"), "id"),
        (lambda d: d.repos.users.create(email="a@b.co", username="abc", password_hash=HASH, tier="platinum"), "tier"),
        (lambda d: d.repos.users.create(email="a@b.co", username="abc", password_hash=HASH, nickname="x"), "nickname"),
        (lambda d: d.repos.users.list(limit=0), "limit"),
        (
            lambda d: d.repos.embeddings.create(
                source_type="template", source_id=uuid.uuid4(), embedding=[1.0, 2.0], model_version="m"
            ),
            "embedding",
        ),
        (
            lambda d: d.repos.templates.create(
                name="n", technique="few_shot", category="c", template_text="t", metadata={"blob": "x" * 1_100_000}
            ),
            "metadata",
        ),
        (
            lambda d: d.repos.templates.create(
                name="n", technique="few_shot", category="c", template_text="t", metadata={"bad": object()}
            ),
            "metadata",
        ),
        (
            lambda d: d.repos.history.create(
                request_id="r", original_input="i", enhanced_output="o", intent="astrology"
            ),
            "intent",
        ),
    ],
    ids=["uuid", "enum", "unknown-column", "limit", "vector-dimension", "oversize-json", "json-type", "intent"],
)
async def test_bad_input_is_a_typed_error_naming_the_field(owner_data: DataLayer, call: Any, field: str) -> None:
    """Every table's repository, so as the owner (bp_app may not write reference data at all)."""
    with pytest.raises(InvalidInput) as error:
        await call(owner_data)
    assert error.value.field == field
    assert await owner_data.db.fetchval("count", "SELECT count(*) FROM auth.users") == 0  # nothing half-written


async def test_a_bad_field_deep_in_a_unit_of_work_writes_nothing(data: DataLayer) -> None:
    from betterprompts_db.data.postgres import Enhancement

    user = await data.auth.register(email="deep@example.com", username="deep", password="pw")
    bad = Enhancement(
        user_id=user.id, request_id="req-bad", original_input="x", enhanced_output="y", intent="reasoning",
        intent_confidence=0.5, techniques_used=["few_shot", "telepathy"], processing_time_ms=5,
    )  # fmt: skip
    with pytest.raises(InvalidInput) as error:
        await data.prompts.record_enhancement(bad)
    assert error.value.field == "techniques_used"
    for table in ("prompts.history", "prompts.embeddings", "analytics.technique_effectiveness"):
        assert await data.db.fetchval(table, f"SELECT count(*) FROM {table}") == 0


@pytest.mark.parametrize(
    ("email", "username", "field"),
    [
        ("no-at-sign", "valid_name", "email"),
        ("ok@example.com", "a b", "username"),
        ("x" * 400 + "@e.co", "ok_name", "email"),
    ],
)
async def test_registration_names_the_bad_field(data: DataLayer, email: str, username: str, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        await data.auth.register(email=email, username=username, password="pw")
    assert error.value.field == field
    assert await data.db.fetchval("auth.users", "SELECT count(*) FROM auth.users") == 0
