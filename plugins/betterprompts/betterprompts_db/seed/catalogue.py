"""Rows of the reference tables: prompt templates and intent patterns, as the seed files give them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from decimal import Decimal

from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.profiles import World
from betterprompts_db.seed.reference import Reference

# slug may be None: the templates_fill_slug trigger (0003) derives it from the name
TEMPLATE_COLUMNS = (
    "id", "name", "slug", "description", "technique", "category", "template_text", "variables", "examples",
    "effectiveness_score", "usage_count", "is_active", "is_public", "created_by", "metadata", "created_at",
    "updated_at",
)  # fmt: skip
# normalized_pattern is left to the intent_patterns_normalize trigger (0003)
INTENT_PATTERN_COLUMNS = (
    "id", "pattern", "intent", "sub_intent", "confidence", "is_verified", "verified_by", "source", "metadata",
    "created_at", "updated_at",
)  # fmt: skip


def catalogue_created_at(world: World, number: int) -> dt.datetime:
    """Reference data predates every user: a year and two months before the epoch, an hour apart."""
    return world.epoch - dt.timedelta(days=430) + dt.timedelta(hours=number)


def template_rows(
    world: World, reference: Reference, accounts: dict[str, uuid.UUID], technique_uses: Counter[str]
) -> list[tuple[object, ...]]:
    """One row per template; usage is the history's uses of its technique, shared among its templates."""
    per_technique = Counter(t.technique for t in reference.templates)
    rows: list[tuple[object, ...]] = []
    for number, t in enumerate(reference.templates):
        created = catalogue_created_at(world, number)
        rows.append(
            (
                stable_uuid(world.random_seed, "template", t.name),
                t.name,
                t.slug,
                t.description,
                t.technique,
                t.category,
                t.template_text,
                json.dumps(list(t.variables)),
                json.dumps(list(t.examples)),
                Decimal(str(t.effectiveness_score)),
                technique_uses[t.technique] // per_technique[t.technique],
                t.is_active,
                t.is_public,
                accounts[t.created_by] if t.created_by else None,
                json.dumps({"intent": t.intent}),
                created,
                created,
            )
        )
    return rows


def intent_pattern_rows(world: World, reference: Reference, accounts: dict[str, uuid.UUID]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    offset = len(reference.templates)
    for number, p in enumerate(reference.intent_patterns):
        created = catalogue_created_at(world, offset + number)
        rows.append(
            (
                stable_uuid(world.random_seed, "intent_pattern", p.pattern, p.intent),
                p.pattern,
                p.intent,
                p.sub_intent,
                p.confidence,
                p.verified_by is not None,
                accounts[p.verified_by] if p.verified_by else None,
                p.source,
                "{}",
                created,
                created,
            )
        )
    return rows
