"""Prompt history: who asked what, when, which techniques answered, and how the user rated it.

Rows are drawn in chunks, each chunk from a random stream of its own, so generation is cheap and
reproducible, and any range of rows can be drawn alone: the world is written in batches of them.
Heavy users get most of the traffic (long-tailed activity), traffic grows towards the epoch, and
ratings follow each technique's effectiveness.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from betterprompts_db.data.postgres.records import ApiKey, HistoryEntry
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.people import Person
from betterprompts_db.seed.profiles import Profile, World
from betterprompts_db.seed.reference import Reference

T = TypeVar("T")
CHUNK = 1024
ANONYMOUS_SHARE = 0.02
API_SHARE = 0.35  # of the requests of a user holding an active API key
TECHNIQUE_COUNTS = ((1, 2, 3), (50, 85, 100))  # options, cumulative weights
COMPLEXITIES = (("simple", "moderate", "complex"), (50, 85, 100))
GOOD_SCORES = ((4, 5), (45, 100))
POOR_SCORES = ((1, 2, 3), (15, 45, 100))


def weighted(rng: random.Random, options: Sequence[T], cum_weights: Sequence[float]) -> T:
    """`rng.choices(options, cum_weights=cum_weights)[0]`, the same draw, without its per-call setup."""
    return options[bisect.bisect(cum_weights, rng.random() * (cum_weights[-1] + 0.0), 0, len(options) - 1)]


@dataclass
class History:
    """A batch of consecutive history rows."""

    rows: list[HistoryEntry]  # every one with an intent and a processing time
    clusters: list[int]  # embedding cluster of each row: intent and subject group
    api_keys: list[ApiKey | None]  # the key each API request came with
    embedded: list[int]  # indexes (in `rows`) of the rows that get an embedding


class HistoryWriter:
    def __init__(self, world: World, profile: Profile, reference: Reference, users: list[Person]) -> None:
        self.world = world
        self.profile = profile
        self.reference = reference
        self.users = users
        self.intents = list(reference.vocabulary.intents.items())
        self.intent_weights = list(itertools.accumulate(words.weight for _, words in self.intents))
        self.groups = world.embedding_clusters // len(self.intents)
        self.suited = {
            intent: [t for t in reference.techniques if intent in t.intents] or list(reference.techniques)
            for intent, _ in self.intents
        }
        self.user_weights = list(itertools.accumulate(u.activity for u in users))
        self.session_starts = {id(u): [s.created_at for s in u.sessions] for u in users}
        self.start = world.history_start
        self.span = world.epoch - self.start

    def batches(self, size: int) -> Iterator[History]:
        """The profile's history in batches of `size` rows (a multiple of CHUNK)."""
        for start in range(0, self.profile.history, size):
            yield self.write(start, min(start + size, self.profile.history))

    def write(self, start: int, stop: int) -> History:
        """Rows `start` to `stop`; `start` starts a chunk."""
        history = History([], [], [], [])
        rng = random.Random()
        share = self.profile.embedded_history
        for n in range(start, stop):
            if n % CHUNK == 0:
                rng = random.Random(f"{self.world.random_seed}:history:{n // CHUNK}")
            self.add(rng, n, history)
            if int((n + 1) * share) > int(n * share):
                history.embedded.append(n - start)
        return history

    def sample(self, numbers: Iterable[int]) -> list[HistoryEntry]:
        """Rows by number, each drawn from its chunk's start."""
        return [self.write(n - n % CHUNK, n + 1).rows[-1] for n in numbers]

    def add(self, rng: random.Random, n: int, history: History) -> None:
        world = self.world
        user = None if rng.random() < ANONYMOUS_SHARE else weighted(rng, self.users, self.user_weights)
        created = self.start + self.span * rng.random() ** 0.75  # traffic grows towards the epoch
        if user is not None and created < user.created_at:
            created = user.created_at + (world.epoch - user.created_at) * rng.random()
        created = created.replace(microsecond=created.microsecond // 1000 * 1000)
        intent_number = bisect.bisect(self.intent_weights, rng.random() * self.intent_weights[-1])
        intent, words = self.intents[intent_number]
        subject_number = rng.randrange(len(words.subjects))
        original = rng.choice(words.shapes).format(subject=words.subjects[subject_number])
        suited = self.suited[intent]
        techniques = rng.sample(suited, min(len(suited), weighted(rng, *TECHNIQUE_COUNTS)))
        complexity = weighted(rng, *COMPLEXITIES)
        enhanced = " ".join(t.instruction for t in techniques) + "\n\n" + original
        key = self.api_key(rng, user, created)
        session_id = None if key is not None or user is None else self.session_at(user, created)
        feedback, feedback_text, updated = None, None, created
        if rng.random() < 0.35:
            good = rng.random() < techniques[0].effectiveness
            feedback = weighted(rng, *GOOD_SCORES) if good else weighted(rng, *POOR_SCORES)
            feedback_text = rng.choice(self.reference.vocabulary.feedback_texts) if rng.random() < 0.25 else None
            updated = min(created + dt.timedelta(seconds=rng.randrange(5, 3600)), world.epoch)  # rated by "now"
        models = self.reference.vocabulary.models
        row_id = stable_uuid(world.random_seed, "history", n)
        # keywords in column order: the generator draws its random numbers in this order
        history.rows.append(
            HistoryEntry(
                id=row_id, user_id=user.id if user else None, session_id=session_id, request_id=f"req_{row_id.hex}",
                original_input=original, enhanced_output=enhanced, intent=intent,
                intent_confidence=round(rng.uniform(0.55, 0.99), 3), complexity=complexity,
                techniques_used=[t.name for t in techniques],
                technique_scores={t.name: round(0.5 + 0.5 * t.effectiveness * rng.random(), 3) for t in techniques},
                processing_time_ms=int(rng.lognormvariate(5.8, 0.45) * (1 + 0.35 * (len(techniques) - 1))),
                token_count=len(enhanced) // 4 + rng.randrange(40, 900),
                model_version=models[min(len(models) - 1, int((created - self.start) / self.span * len(models)))],
                feedback_score=feedback, feedback_text=feedback_text,
                is_favorite=(feedback == 5 and rng.random() < 0.3) or rng.random() < 0.01,
                metadata={"client": "api" if key else rng.choice(("web", "web", "web", "cli")), "language": "en"},
                created_at=created, updated_at=updated,
            )
        )  # fmt: skip
        history.clusters.append(intent_number * self.groups + subject_number % self.groups)
        history.api_keys.append(key)

    @staticmethod
    def api_key(rng: random.Random, user: Person | None, at: dt.datetime) -> ApiKey | None:
        if user is None or not user.api_keys or rng.random() >= API_SHARE:
            return None
        key = rng.choice(user.api_keys)
        usable = key.is_active and key.created_at <= at and (key.expires_at is None or at < key.expires_at)
        return key if usable else None

    def session_at(self, user: Person, at: dt.datetime) -> uuid.UUID | None:
        """The user's latest session started before `at`, if it had not expired by then."""
        index = bisect.bisect(self.session_starts[id(user)], at) - 1
        if index < 0:
            return None
        session = user.sessions[index]
        return session.id if at < session.expires_at else None


def intent_of(row: HistoryEntry) -> str:
    """A generated request's intent: the writer gives every request one (the column allows none)."""
    assert row.intent is not None
    return row.intent


def milliseconds(row: HistoryEntry) -> int:
    """A generated request's processing time: the writer records every one (the column allows none)."""
    assert row.processing_time_ms is not None
    return row.processing_time_ms
