"""The Redis ACL users' development passwords, from the keyspace contract: what the engine
administers the servers it starts with when the shipped ACL is in force."""

from __future__ import annotations

from betterprompts_db.keyspace import load_keyspace
from harness.config import Settings
from harness.errors import ConfigurationError


def keyspace_password(settings: Settings, user: str) -> str:
    users = load_keyspace(settings.redis_keyspace).users
    if user not in users:
        raise ConfigurationError(
            f"{settings.redis_keyspace} names no user {user!r} for the harness to administer Redis with "
            f"(users: {sorted(users)})"
        )
    return users[user].dev_password
