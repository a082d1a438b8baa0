"""The generated world keeps the rules a real BetterPrompts database keeps, row by row: who holds
API keys and when they expire, which requests carry a session, what a technique score and a
model version may be, and that two seeders never load one database twice. A generator that broke
one of them would still load, count and dump deterministically, so the other seed suites pass."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from betterprompts_db.seed import Dataset, build_dataset, seed
from betterprompts_db.seed.people import KEY_LIFETIME, LASTING_KEY_SHARE
from betterprompts_db.seed.reference import load_reference
from harness.pytest_plugin import Database
from suites.betterprompts.seeds.database import row_counts

COST = 4
SCALE = 0.05  # of the load profile: ~500 users, 10,000 requests; big enough for shares to show


@pytest.fixture
def world() -> Dataset:
    """Built for each test (0.8 s): a world shared by a module would be built while the first test
    runs, and mutation testing (mutmut) would credit the generator's code to that test alone."""
    return build_dataset(Path("seeds"), "load", SCALE, cost=COST)


def records(dataset: Dataset, qualified: str) -> list[dict[str, Any]]:
    table = dataset.table(qualified)
    return [{column: getattr(row, column) for column in table.columns} for row in table.rows]


def is_named(user: dict[str, Any]) -> bool:
    """A named account of accounts.toml: its keys, sessions and expiry are written by hand."""
    return str(user["email"]).endswith("@betterprompts.test")


def binomial_bounds(n: int, share: float, sigmas: float = 4.0) -> tuple[float, float]:
    """Where a count of `n` draws at `share` falls but for a 1-in-15,000 fluke (the draw is fixed)."""
    spread = sigmas * (n * share * (1 - share)) ** 0.5
    return n * share - spread, n * share + spread


def test_only_paying_users_and_developers_hold_api_keys_at_the_profiles_share(world: Dataset) -> None:
    users = {u["id"]: u for u in records(world, "auth.users")}
    holders = {k["user_id"] for k in records(world, "auth.api_keys")}
    assert holders, "the world holds no API key"
    for user_id in holders:
        user = users[user_id]
        assert user["tier"] != "free" or user["role"] == "developer", user["email"]
    eligible = [u for u in users.values() if u["tier"] != "free" or u["role"] == "developer"]
    generated = [u for u in eligible if not is_named(u)]  # named accounts hold theirs by hand
    low, high = binomial_bounds(len(generated), world.profile.api_key_share)
    assert low <= len(holders & {u["id"] for u in generated}) <= high


def test_an_api_key_never_expires_or_expires_a_year_after_its_user_joined(world: Dataset) -> None:
    users = {u["id"]: u for u in records(world, "auth.users")}
    keys = [k for k in records(world, "auth.api_keys") if not is_named(users[k["user_id"]])]
    expiring = [k for k in keys if k["expires_at"] is not None]
    for key in expiring:
        assert key["expires_at"] == users[key["user_id"]]["created_at"] + KEY_LIFETIME
    low, high = binomial_bounds(len(keys), 1 - LASTING_KEY_SHARE)
    assert low <= len(expiring) <= high, (len(expiring), len(keys))
    assert all(k["is_active"] for k in keys if k["expires_at"] is None)  # only an expiring key is ever revoked


def test_api_requests_carry_no_session_and_web_requests_the_users_live_one(world: Dataset) -> None:
    sessions = {s["id"]: s for s in records(world, "auth.sessions")}
    history = records(world, "prompts.history")
    api = [h for h in history if h["metadata"]["client"] == "api"]
    signed_in = [h for h in history if h["user_id"] is not None and h not in api]
    assert api
    assert signed_in
    assert all(h["session_id"] is None and h["user_id"] is not None for h in api)
    assert all(h["session_id"] is None for h in history if h["user_id"] is None)  # anonymous
    linked = [h for h in signed_in if h["session_id"] is not None]
    # sessions last 30 days, scattered over a year of requests: a tenth or more fall within one
    assert len(linked) >= len(signed_in) // 10
    for request in linked:
        session = sessions[request["session_id"]]
        assert session["user_id"] == request["user_id"]
        assert session["created_at"] <= request["created_at"] < session["expires_at"]


def test_technique_scores_name_exactly_the_techniques_used_each_between_half_and_one(world: Dataset) -> None:
    for request in records(world, "prompts.history"):
        scores = request["technique_scores"]
        assert sorted(scores) == sorted(request["techniques_used"])
        assert all(0.5 <= score <= 1.0 for score in scores.values()), scores
    spread = {s for r in records(world, "prompts.history") for s in r["technique_scores"].values()}
    assert min(spread) < 0.6
    assert max(spread) > 0.9


def test_model_versions_follow_each_other_in_time_and_all_of_them_serve(world: Dataset) -> None:
    models = load_reference(Path("seeds")).vocabulary.models
    history = sorted(records(world, "prompts.history"), key=lambda h: h["created_at"])
    order = [models.index(h["model_version"]) for h in history]
    assert order == sorted(order), "a request used an older model than one before it"
    assert set(order) == set(range(len(models)))


async def test_two_seeders_started_together_load_the_world_once(fresh_database: Database, seeds_dir: Path) -> None:
    first, second = await asyncio.gather(
        seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST),
        seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=COST),
    )
    assert sorted((first.rows_inserted, second.rows_inserted)) == [0, sum(first.expected.values())]
    counts = await row_counts(fresh_database.dsn)
    assert {name: counts[name] for name in first.expected} == first.expected


def by_day(rows: list[dict[str, Any]], column: str = "created_at") -> dict[dt.date, list[dict[str, Any]]]:
    days: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        days[row[column].date()].append(row)
    return days


def test_daily_stats_agree_with_the_requests_and_calls_of_their_day(world: Dataset) -> None:
    history = by_day(records(world, "prompts.history"))
    metrics = by_day(records(world, "analytics.api_metrics"))
    stats = records(world, "analytics.daily_stats")
    assert len(stats) >= 360
    assert sum(s["error_count"] for s in stats) > 0
    for day in stats:
        requests, calls = history.get(day["day"], []), metrics.get(day["day"], [])
        assert day["total_enhancements"] == len(requests)
        assert day["total_requests"] == len(requests) + sum(c["method"] == "GET" for c in calls)
        assert day["error_count"] == sum(c["status_code"] >= 500 for c in calls), day["day"]
        assert day["intent_breakdown"] == dict(Counter(r["intent"] for r in requests))
        techniques = Counter(t for r in requests for t in r["techniques_used"])
        assert day["technique_breakdown"] == dict(techniques)


def test_every_timestamp_is_utc_and_nothing_was_made_or_changed_after_the_worlds_now(world: Dataset) -> None:
    """The epoch is the seeded world's "now" (profiles.toml): expiries may lie beyond it, creations not."""
    for table in world.tables:
        for row in records(world, table.qualified):
            for column, value in row.items():
                if isinstance(value, dt.datetime):
                    assert value.utcoffset() == dt.timedelta(0), (table.qualified, column, value)
                    if column in ("created_at", "updated_at"):
                        assert value <= world.world.epoch, (table.qualified, value)


def test_api_calls_hit_known_endpoints_and_a_read_follows_its_enhancement(world: Dataset) -> None:
    endpoints = set(load_reference(Path("seeds")).vocabulary.api_endpoints)
    calls = records(world, "analytics.api_metrics")
    assert {c["endpoint"] for c in calls} <= endpoints
    posts = {(c["api_key_id"], c["created_at"]) for c in calls if c["method"] == "POST"}
    reads = [c for c in calls if c["method"] == "GET"]
    assert reads
    assert all((c["api_key_id"], c["created_at"] - dt.timedelta(seconds=30)) in posts for c in reads)


def test_half_the_requests_use_one_technique_and_fewer_use_three(world: Dataset) -> None:
    history = records(world, "prompts.history")
    counts = Counter(len(h["techniques_used"]) for h in history)
    low, high = binomial_bounds(len(history), 0.5)
    assert low <= counts[1] <= high, counts
    assert counts[1] > counts[2] > counts[3] > 0


def test_saved_prompts_keep_their_users_requests_and_some_collections_are_described(world: Dataset) -> None:
    history = {h["id"]: h for h in records(world, "prompts.history")}
    saved = records(world, "prompts.saved_prompts")
    assert saved
    for prompt in saved:
        request = history[prompt["history_id"]]
        assert (request["user_id"], request["created_at"]) == (prompt["user_id"], prompt["history_created_at"])
    described = Counter(c["description"] is not None for c in records(world, "prompts.collections"))
    assert described[True] > 0
    assert described[False] > 0


def test_another_random_seed_makes_a_world_that_shares_no_id(tmp_path: Path) -> None:
    """Ids come from the seed: two worlds (a profile seeded twice with different seeds into one
    database, say) never collide on a row id."""
    seeds = tmp_path / "seeds"
    shutil.copytree(Path("seeds"), seeds)
    profiles = seeds / "profiles.toml"
    profiles.write_text(re.sub(r"(?m)^random_seed = \d+", "random_seed = 7", profiles.read_text(), count=1))
    ours = build_dataset(Path("seeds"), "demo", 0.25, cost=COST)
    theirs = build_dataset(seeds, "demo", 0.25, cost=COST)
    for table in ours.tables:
        other = theirs.table(table.qualified)
        assert table.rows
        assert not {row.id for row in table.rows} & {row.id for row in other.rows}, table.qualified
