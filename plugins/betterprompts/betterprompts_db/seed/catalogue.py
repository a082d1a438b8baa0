"""Rows of the reference tables: prompt templates and intent patterns, as the seed files give them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from decimal import Decimal

from betterprompts_db.data.postgres.records import IntentPattern, Template
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.profiles import World
from betterprompts_db.seed.reference import Reference


def catalogue_created_at(world: World, number: int) -> dt.datetime:
    """Reference data predates every user: a year and two months before the epoch, an hour apart."""
    return world.epoch - dt.timedelta(days=430) + dt.timedelta(hours=number)


def template_rows(
    world: World, reference: Reference, accounts: dict[str, uuid.UUID], technique_uses: Counter[str]
) -> list[Template]:
    """One row per template; usage is the history's uses of its technique, shared among its templates.
    An empty slug is the templates_fill_slug trigger's (0003) to make from the name."""
    per_technique = Counter(t.technique for t in reference.templates)
    rows: list[Template] = []
    for number, t in enumerate(reference.templates):
        created = catalogue_created_at(world, number)
        rows.append(
            Template(
                id=stable_uuid(world.random_seed, "template", t.name), name=t.name, slug=t.slug,
                description=t.description, technique=t.technique, category=t.category, template_text=t.template_text,
                variables=list(t.variables), examples=list(t.examples),
                effectiveness_score=Decimal(str(t.effectiveness_score)),
                usage_count=technique_uses[t.technique] // per_technique[t.technique], is_active=t.is_active,
                is_public=t.is_public, created_by=accounts[t.created_by] if t.created_by else None,
                metadata={"intent": t.intent}, created_at=created, updated_at=created,
            )
        )  # fmt: skip
    return rows


def intent_pattern_rows(world: World, reference: Reference, accounts: dict[str, uuid.UUID]) -> list[IntentPattern]:
    """One row per pattern. normalized_pattern is the intent_patterns_normalize trigger's (0003): it
    overwrites whatever is given, so the pattern as typed is given."""
    rows: list[IntentPattern] = []
    offset = len(reference.templates)
    for number, p in enumerate(reference.intent_patterns):
        created = catalogue_created_at(world, offset + number)
        rows.append(
            IntentPattern(
                id=stable_uuid(world.random_seed, "intent_pattern", p.pattern, p.intent), pattern=p.pattern,
                normalized_pattern=p.pattern, intent=p.intent, sub_intent=p.sub_intent, confidence=p.confidence,
                is_verified=p.verified_by is not None, verified_by=accounts[p.verified_by] if p.verified_by else None,
                source=p.source, metadata={}, created_at=created, updated_at=created,
            )
        )  # fmt: skip
    return rows
