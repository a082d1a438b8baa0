"""Feature flags: allow-lists, and a percentage rollout that gives every process the same answer."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.redis import FeatureFlag, RedisLayer, rollout_bucket


async def test_a_flag_round_trips_and_never_expires(services: RedisLayer, redis_client: aioredis.Redis) -> None:
    flag = FeatureFlag("new-editor", enabled=True, rollout_percentage=30, allow_list=frozenset({"u1", "u2"}))
    await services.flags.set(flag)
    assert await services.flags.get("new-editor") == flag
    assert await redis_client.ttl(services.flags.key("new-editor")) == -1
    assert await services.flags.delete("new-editor")
    assert await services.flags.get("new-editor") is None
    assert not await services.flags.delete("new-editor")


async def test_the_allow_list_wins_over_a_zero_rollout(services: RedisLayer) -> None:
    await services.flags.set(FeatureFlag("beta", enabled=True, rollout_percentage=0, allow_list=frozenset({"u1"})))
    assert await services.flags.is_enabled("beta", "u1")
    assert not await services.flags.is_enabled("beta", "u2")


async def test_a_disabled_flag_is_off_for_everyone_even_the_allow_list(services: RedisLayer) -> None:
    await services.flags.set(FeatureFlag("beta", enabled=False, rollout_percentage=100, allow_list=frozenset({"u1"})))
    assert not await services.flags.is_enabled("beta", "u1")
    assert not await services.flags.is_enabled("beta", "u2")


async def test_an_unknown_flag_is_off(services: RedisLayer) -> None:
    assert not await services.flags.is_enabled("never-defined", "u1")


def test_buckets_are_the_same_in_every_process_and_language() -> None:
    # sha256(flag NUL user)[:8] as a big-endian integer, mod 100: what a Go service must compute too
    assert rollout_bucket("new-editor", "user-1") == 54
    assert rollout_bucket("new-editor", "user-2") == 99
    assert rollout_bucket("dark-mode", "user-1") == 39


def test_a_30_percent_rollout_reaches_27_to_33_percent_of_10k_users() -> None:
    flag = FeatureFlag("new-editor", enabled=True, rollout_percentage=30)
    reached = sum(flag.enabled_for(f"user-{n}") for n in range(10_000))
    assert 2_700 <= reached <= 3_300


def test_raising_the_percentage_only_adds_users() -> None:
    users = [f"user-{n}" for n in range(2_000)]
    at = {p: {u for u in users if FeatureFlag("f", True, p).enabled_for(u)} for p in (0, 10, 50, 100)}
    assert at[0] == set()
    assert at[100] == set(users)
    assert at[10] <= at[50]


async def test_the_stored_flag_answers_like_the_rule_and_the_same_every_call(services: RedisLayer) -> None:
    flag = FeatureFlag("new-editor", enabled=True, rollout_percentage=30)
    await services.flags.set(flag)
    users = [f"user-{n}" for n in range(200)]
    for _ in range(2):
        answers = await asyncio.gather(*(services.flags.is_enabled("new-editor", u) for u in users))
        assert answers == [flag.enabled_for(u) for u in users]


@pytest.mark.parametrize("percentage", [-1, 101])
def test_a_rollout_outside_0_to_100_is_refused(percentage: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        FeatureFlag("f", enabled=True, rollout_percentage=percentage)
    assert refused.value.field == "rollout_percentage"


async def test_a_flag_name_that_is_not_a_plain_token_is_refused(services: RedisLayer) -> None:
    with pytest.raises(InvalidInput) as refused:
        await services.flags.set(FeatureFlag("new editor"))
    assert refused.value.field == "name"
