"""Batch reads and writes on a string namespace in one round trip: MGET for reads (one command
is cheaper than a pipeline of GETs), a pipeline of SET … EX for writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from betterprompts_db.data.errors import InvalidInput
from betterprompts_db.data.redis.replies import as_bytes
from betterprompts_db.data.redis.store import RedisStore
from betterprompts_db.data.redis.translate import translated

KeyParts = Mapping[str, str]


def _string_namespace(store: RedisStore, namespace: str) -> None:
    kind = store.namespace(namespace).type
    if kind != "string":
        raise InvalidInput("namespace", f"{namespace} holds {kind}s; batch helpers handle strings")


async def get_many(store: RedisStore, namespace: str, keys: Sequence[KeyParts]) -> list[bytes | None]:
    """The value (or None) for each key's parts, in order."""
    _string_namespace(store, namespace)
    if not keys:
        return []
    names = store.keys(namespace, keys)
    with translated(namespace):
        values = await store.client.mget(names)
    return [as_bytes(value) for value in values]


async def set_many(
    store: RedisStore, namespace: str, items: Sequence[tuple[KeyParts, bytes]], *, ttl: int | None = None
) -> None:
    """Write every item with the namespace's TTL (or `ttl`); not atomic, but one round trip."""
    _string_namespace(store, namespace)
    if ttl is None:
        contract_ttl = store.namespace(namespace).ttl
        ttl = contract_ttl if isinstance(contract_ttl, int) else None
    elif isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        raise InvalidInput("ttl", f"must be a positive whole number of seconds, got {ttl!r}")
    if not items:
        return
    names = store.keys(namespace, [parts for parts, _ in items])
    with translated(namespace):
        async with store.client.pipeline(transaction=False) as pipe:
            for name, (_, value) in zip(names, items, strict=True):
                pipe.set(name, value, ex=ttl)
            await pipe.execute()
