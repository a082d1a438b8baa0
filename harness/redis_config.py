"""The shipped `redis.conf`, read as data, and the check that a live server runs it."""

from __future__ import annotations

import re
from pathlib import Path

import redis.asyncio as aioredis

# Where each backend puts the server (address, files, ACL path) is the harness's to choose.
SET_BY_BACKEND = frozenset(
    {"bind", "port", "dir", "unixsocket", "unixsocketperm", "aclfile", "protected-mode", "daemonize",
     "supervised", "logfile", "pidfile"}
)  # fmt: skip
MEMORY = re.compile(r"^(\d+)(b|k|kb|m|mb|g|gb)?$", re.IGNORECASE)
UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


def read_redis_conf(path: Path) -> dict[str, str]:
    """Directive → value, as CONFIG GET would report it (`save` lines joined, units in bytes)."""
    settings: dict[str, str] = {}
    saves: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        key, value = key.lower(), value.strip().strip('"')
        if key == "save":
            saves.append(value)
        else:
            settings[key] = _normalise(value)
    if saves:
        settings["save"] = " ".join(saves)
    return settings


def _normalise(value: str) -> str:
    match = MEMORY.match(value)
    if match and match.group(2):
        return str(int(match.group(1)) * UNITS[match.group(2).lower()])
    return value.lower() if value.lower() in ("yes", "no") else value


async def live_config_mismatches(url: str, path: Path) -> list[str]:
    """Every directive of `path` (but those the backend sets) whose live value differs."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        mismatches = []
        for key, expected in read_redis_conf(path).items():
            if key in SET_BY_BACKEND:
                continue
            live = (await client.config_get(key)).get(key)
            if live != expected:
                mismatches.append(f"{key}: {path} says {expected!r}, the server runs {live!r}")
        return mismatches
    finally:
        await client.aclose()
