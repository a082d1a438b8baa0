"""The ML prediction cache: 1 h TTL, keyed by sha256 of the normalised input."""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis

from betterprompts_db.data.redis import RedisLayer, input_hash, normalise_input
from betterprompts_db.keyspace import Keyspace


def test_normalising_lower_cases_collapses_whitespace_and_trims() -> None:
    assert normalise_input("  Write a\tPOEM \n about   the SEA ") == "write a poem about the sea"


async def test_a_prediction_is_stored_under_the_sha256_of_the_normalised_input_for_an_hour(
    services: RedisLayer, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    await services.predictions.set("Explain  Quantum Computing ", b'{"intent": "explanation"}')
    key = keyspace.namespace("ml_cache").key(input_hash=hashlib.sha256(b"explain quantum computing").hexdigest())
    assert services.predictions.key("explain quantum computing") == key
    assert await redis_client.get(key) == b'{"intent": "explanation"}'
    assert 3595 <= await redis_client.ttl(key) <= 3600


async def test_inputs_that_differ_only_in_case_and_spacing_share_one_prediction(services: RedisLayer) -> None:
    await services.predictions.set("summarise this article", b"summary")
    assert await services.predictions.get("  SUMMARISE\tthis   Article\n") == b"summary"
    assert await services.predictions.get("summarise that article") is None
    assert input_hash("A  b") == input_hash("a b") != input_hash("ab")
