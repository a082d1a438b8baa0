"""The users' libraries: prompts saved from their history, grouped into collections."""

from __future__ import annotations

import base64
import datetime as dt
import random
import uuid

from betterprompts_db.data.postgres.records import Collection, CollectionPrompt, SavedPrompt
from betterprompts_db.seed.history import History, intent_of
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.profiles import Profile, World
from betterprompts_db.seed.reference import Vocabulary


class LibraryWriter:
    """Saves prompts from each batch of history as it is written (one random stream, in history
    order), remembering only each user's saved ids and dates; groups them into collections at the end."""

    def __init__(self, world: World, profile: Profile, words: Vocabulary) -> None:
        self.world, self.profile, self.words = world, profile, words
        self.rng = random.Random(f"{world.random_seed}:library")
        self.by_user: dict[uuid.UUID, list[tuple[uuid.UUID, dt.datetime]]] = {}

    def save(self, history: History) -> list[SavedPrompt]:
        world, profile, words, rng = self.world, self.profile, self.words, self.rng
        saved_prompts = []
        for row in history.rows:
            if row.user_id is None or not (row.is_favorite or rng.random() < profile.saved_share):
                continue
            saved_id = stable_uuid(world.random_seed, "saved_prompt", row.id)
            created = min(row.updated_at + dt.timedelta(minutes=rng.randrange(1, 240)), world.epoch)
            public = rng.random() < 0.2
            token = base64.urlsafe_b64encode(rng.randbytes(18)).decode() if public and rng.random() < 0.7 else None
            # history_created_at given, so the saved_prompts trigger looks nothing up; keywords in the
            # order the generator draws its random numbers
            described = f"Saved from a {intent_of(row).replace('_', ' ')} request"
            saved_prompts.append(
                SavedPrompt(
                    id=saved_id, user_id=row.user_id, history_id=row.id, history_created_at=row.created_at,
                    title=row.original_input[:80].rstrip(" ?.!"),
                    description=described if rng.random() < 0.6 else None,
                    prompt_text=row.enhanced_output, tags=rng.sample(words.tags, rng.randrange(0, 4)), is_public=public,
                    share_token=token, view_count=rng.randrange(0, 500) if public else 0,
                    metadata={"intent": row.intent}, created_at=created, updated_at=created,
                )
            )  # fmt: skip
            self.by_user.setdefault(row.user_id, []).append((saved_id, created))
        return saved_prompts

    def collect(self) -> tuple[list[Collection], list[CollectionPrompt]]:
        """Collections of the users who saved two prompts or more, and what each holds."""
        world, rng = self.world, self.rng
        collections: list[Collection] = []
        collection_prompts: list[CollectionPrompt] = []
        for user_id, saved in self.by_user.items():
            if len(saved) < 2 or rng.random() >= self.profile.collection_share:
                continue
            names = rng.sample(self.words.collection_names, rng.choice((1, 1, 2)))
            collection_ids = [stable_uuid(world.random_seed, "collection", user_id, name) for name in names]
            first_saved = min(created for _, created in saved)
            for collection_id, name in zip(collection_ids, names, strict=True):
                created = first_saved - dt.timedelta(minutes=rng.randrange(1, 120))
                description = f"My {name.lower()} prompts" if rng.random() < 0.5 else None
                collections.append(
                    Collection(
                        id=collection_id, user_id=user_id, name=name, description=description,
                        is_public=rng.random() < 0.1, metadata={}, created_at=created, updated_at=created,
                    )
                )  # fmt: skip
            positions = dict.fromkeys(collection_ids, 0)
            for saved_id, created in saved:
                collection_id = rng.choice(collection_ids)
                position = positions[collection_id]
                positions[collection_id] += 1
                collection_prompts.append(
                    CollectionPrompt(
                        id=stable_uuid(world.random_seed, "collection_prompt", collection_id, saved_id),
                        collection_id=collection_id, saved_prompt_id=saved_id, position=position, created_at=created,
                        updated_at=created,
                    )
                )  # fmt: skip
        return collections, collection_prompts
