"""What a Redis server did during a run: `INFO commandstats`, `LATENCY LATEST`/`HISTORY` (events
past the server's latency-monitor-threshold) and `SLOWLOG GET`, all zeroed at the run's start."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

SLOWLOG_ENTRIES = 50
# what `reset_redis` sends once the counts are zeroed: the capture's own, not the run's
RESET_COMMANDS = {"config|resetstat", "slowlog|reset", "latency|reset"}


async def reset_redis(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        await client.config_resetstat()
        await client.slowlog_reset()
        await client.latency_reset()
    finally:
        await client.aclose()


async def capture_redis(url: str) -> dict[str, Any]:
    client = aioredis.Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
        latest = await client.latency_latest()
        latency = []
        for event, _, latest_ms, max_ms, *_ in latest:
            name = event.decode() if isinstance(event, bytes) else str(event)
            history = await client.latency_history(name)
            latency.append({"event": name, "latest_ms": int(latest_ms), "max_ms": int(max_ms),
                            "history": [[int(at), int(ms)] for at, ms in history]})  # fmt: skip
        slowlog = await client.slowlog_get(SLOWLOG_ENTRIES)
    finally:
        await client.aclose()
    commands = [
        {"command": name.removeprefix("cmdstat_"), "calls": int(v["calls"]), "usec": int(v["usec"]),
         "usec_per_call": float(v["usec_per_call"]), "failed_calls": int(v.get("failed_calls", 0)),
         "rejected_calls": int(v.get("rejected_calls", 0))}
        for name, v in stats.items()
        if name.removeprefix("cmdstat_") not in RESET_COMMANDS
    ]  # fmt: skip
    return {
        "commands": sorted(commands, key=lambda c: -c["usec"]),
        "latency": latency,
        "slowlog": [
            {"at": int(e["start_time"]), "duration_us": int(e["duration"]), "command": _text(e["command"])}
            for e in slowlog
        ],
    }


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
