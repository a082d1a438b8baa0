"""The reference files agree with the schema's enumerations and with each other."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from harness.seed import SeedFileError, load_reference


async def test_technique_names_are_exactly_the_schemas_technique_names(
    pg_conn: asyncpg.Connection, seeds_dir: Path
) -> None:
    schema = await pg_conn.fetchval("SELECT public.technique_names()")
    assert [t.name for t in load_reference(seeds_dir).techniques] == schema


async def test_intent_patterns_and_vocabulary_cover_every_intent_of_the_schema(
    pg_conn: asyncpg.Connection, seeds_dir: Path
) -> None:
    schema = await pg_conn.fetchval("SELECT public.intent_names()")
    reference = load_reference(seeds_dir)
    assert list(reference.intents) == schema
    per_intent = Counter(p.intent for p in reference.intent_patterns)
    assert set(per_intent) == set(schema)
    assert min(per_intent.values()) >= 5
    assert 90 <= len(reference.intent_patterns) <= 120


def test_templates_give_each_technique_two_or_more_and_some_leave_the_slug_to_the_trigger(seeds_dir: Path) -> None:
    reference = load_reference(seeds_dir)
    per_technique = Counter(t.technique for t in reference.templates)
    assert set(per_technique) == {t.name for t in reference.techniques}
    assert min(per_technique.values()) >= 2
    assert any(t.slug is None for t in reference.templates)
    assert any(t.slug is not None for t in reference.templates)


def test_intent_patterns_are_distinct_after_normalising(seeds_dir: Path) -> None:
    """What the normalising trigger computes; a duplicate would break the (normalized, intent) key."""
    patterns = load_reference(seeds_dir).intent_patterns
    normalised = Counter((re.sub(r"\s+", " ", p.pattern).strip().lower(), p.intent) for p in patterns)
    assert [key for key, n in normalised.items() if n > 1] == []


def test_a_template_naming_an_unknown_technique_is_reported_with_its_file(seeds_dir: Path, tmp_path: Path) -> None:
    for path in seeds_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    templates = tmp_path / "templates.toml"
    templates.write_text(templates.read_text().replace('technique = "few_shot"', 'technique = "few_shots"', 1))
    with pytest.raises(SeedFileError, match=r"templates\.toml: Few-Shot Classification: unknown technique 'few_shots'"):
        load_reference(tmp_path)
