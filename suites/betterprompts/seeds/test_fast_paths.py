"""The generators' fast paths draw and name exactly what the standard library's would: the world
(`world.json`) does not move when they replace `uuid.uuid5` and `random.choices`."""

from __future__ import annotations

import pickle
import random
import uuid

from betterprompts_db.seed.history import weighted
from betterprompts_db.seed.ids import NAMESPACE, stable_uuid


def test_stable_uuid_is_uuid5_of_the_joined_name() -> None:
    names: list[tuple[int, tuple[object, ...]]] = [
        (1, ("history", 0)),
        (42, ("embedding", "history", uuid.UUID(int=5))),
        (7, ("template", "Chaîne: ü")),
        (2**40, ()),
    ]
    for seed, parts in names:
        ours, theirs = stable_uuid(seed, *parts), uuid.uuid5(NAMESPACE, ":".join(map(str, (seed, *parts))))
        assert (ours, str(ours), hash(ours), ours.version, ours.is_safe) == (
            theirs,
            str(theirs),
            hash(theirs),
            5,
            theirs.is_safe,
        )
        assert pickle.loads(pickle.dumps(ours)) == theirs


def test_weighted_draws_what_choices_draws_from_the_same_stream() -> None:
    theirs, ours = random.Random(5), random.Random(5)
    cases = [
        ((1, 2, 3), (50, 35, 15), (50, 85, 100)),
        ((4, 5), (45, 55), (45, 100)),
        ("abcdefg", None, (1.5, 2, 3.25, 9, 10, 11, 30)),
    ]
    for _ in range(20_000):
        for options, weights, cumulative in cases:
            expected = (
                theirs.choices(options, cum_weights=cumulative) if weights is None else theirs.choices(options, weights)
            )
            assert weighted(ours, options, cumulative) == expected[0]
