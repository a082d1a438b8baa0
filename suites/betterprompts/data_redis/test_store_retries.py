"""How a command on a dropped connection is retried: the pauses between attempts double from
20 ms and stop growing at 100 ms, so a restart is ridden out without hammering the server."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio.retry

from betterprompts_db.data.errors import Unavailable
from betterprompts_db.data.redis import RedisConfig, open_redis
from betterprompts_db.keyspace import Keyspace

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused at once


async def test_reconnect_attempts_pause_20_40_80_then_100_ms(
    keyspace: Keyspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    sleep = asyncio.sleep

    async def recorded(seconds: float) -> None:
        pauses.append(seconds)
        await sleep(seconds)

    monkeypatch.setattr(redis.asyncio.retry, "sleep", recorded)
    layer = open_redis(RedisConfig(UNREACHABLE, connect_timeout=0.5, reconnect_attempts=4), keyspace)
    try:
        with pytest.raises(Unavailable):
            await layer.temp.get("verify", "u1")
    finally:
        await layer.close()
    assert pauses == pytest.approx([0.02, 0.04, 0.08, 0.1])
