"""The users' libraries: prompts saved from their history, grouped into collections."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

from betterprompts_db.seed.history import History
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.profiles import Profile, World
from betterprompts_db.seed.reference import Vocabulary


class SavedPromptRow(NamedTuple):
    """One prompts.saved_prompts row (history_created_at given, so its trigger does no look-up)."""

    id: uuid.UUID
    user_id: uuid.UUID
    history_id: uuid.UUID
    history_created_at: dt.datetime
    title: str
    description: str | None
    prompt_text: str
    tags: list[str]
    is_public: bool
    share_token: str | None
    view_count: int
    metadata: str
    created_at: dt.datetime
    updated_at: dt.datetime


SAVED_PROMPT_COLUMNS = SavedPromptRow._fields
COLLECTION_COLUMNS = ("id", "user_id", "name", "description", "is_public", "metadata", "created_at", "updated_at")
COLLECTION_PROMPT_COLUMNS = ("id", "collection_id", "saved_prompt_id", "position", "created_at", "updated_at")


@dataclass
class Library:
    saved_prompts: list[SavedPromptRow] = field(default_factory=list)
    collections: list[tuple[object, ...]] = field(default_factory=list)
    collection_prompts: list[tuple[object, ...]] = field(default_factory=list)


def build_library(world: World, profile: Profile, words: Vocabulary, history: History) -> Library:
    rng = random.Random(f"{world.random_seed}:library")
    library = Library()
    by_user: dict[uuid.UUID, list[tuple[uuid.UUID, dt.datetime]]] = {}
    for row in history.rows:
        if row.user_id is None or not (row.is_favorite or rng.random() < profile.saved_share):
            continue
        saved_id = stable_uuid(world.random_seed, "saved_prompt", row.id)
        created = min(row.updated_at + dt.timedelta(minutes=rng.randrange(1, 240)), world.epoch)
        public = rng.random() < 0.2
        token = base64.urlsafe_b64encode(rng.randbytes(18)).decode() if public and rng.random() < 0.7 else None
        library.saved_prompts.append(
            SavedPromptRow(
                saved_id,
                row.user_id,
                row.id,
                row.created_at,
                row.original_input[:80].rstrip(" ?.!"),
                f"Saved from a {row.intent.replace('_', ' ')} request" if rng.random() < 0.6 else None,
                row.enhanced_output,
                rng.sample(words.tags, rng.randrange(0, 4)),
                public,
                token,
                rng.randrange(0, 500) if public else 0,
                json.dumps({"intent": row.intent}),
                created,
                created,
            )
        )
        by_user.setdefault(row.user_id, []).append((saved_id, created))
    for user_id, saved in by_user.items():
        if len(saved) < 2 or rng.random() >= profile.collection_share:
            continue
        names = rng.sample(words.collection_names, rng.choice((1, 1, 2)))
        collection_ids = [stable_uuid(world.random_seed, "collection", user_id, name) for name in names]
        first_saved = min(created for _, created in saved)
        for collection_id, name in zip(collection_ids, names, strict=True):
            created = first_saved - dt.timedelta(minutes=rng.randrange(1, 120))
            description = f"My {name.lower()} prompts" if rng.random() < 0.5 else None
            library.collections.append(
                (collection_id, user_id, name, description, rng.random() < 0.1, "{}", created, created)
            )
        positions = dict.fromkeys(collection_ids, 0)
        for saved_id, created in saved:
            collection_id = rng.choice(collection_ids)
            position = positions[collection_id]
            positions[collection_id] += 1
            library.collection_prompts.append(
                (
                    stable_uuid(world.random_seed, "collection_prompt", collection_id, saved_id),
                    collection_id,
                    saved_id,
                    position,
                    created,
                    created,
                )
            )
    return library
