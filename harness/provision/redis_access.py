"""How the harness reaches the Redis servers it starts: as the contract's admin user when the
shipped ACL is in force (its `default` user is disabled)."""

from __future__ import annotations

from urllib.parse import quote

from harness.config import Settings
from harness.errors import ConfigurationError
from harness.keyspace import load_keyspace

Credentials = tuple[str, str]


def admin_credentials(settings: Settings) -> Credentials | None:
    """The admin user and its development password, or None when no ACL file is shipped."""
    if not settings.redis_acl.is_file():
        return None
    users = load_keyspace(settings.redis_keyspace).users
    if settings.redis_admin_user not in users:
        raise ConfigurationError(
            f"{settings.redis_keyspace} names no user {settings.redis_admin_user!r} for the harness to administer "
            f"Redis with (users: {sorted(users)})"
        )
    return settings.redis_admin_user, users[settings.redis_admin_user].dev_password


def redis_url(host: str, port: int, credentials: Credentials | None, db: int = 0) -> str:
    auth = f"{quote(credentials[0], safe='')}:{quote(credentials[1], safe='')}@" if credentials else ""
    return f"redis://{auth}{host}:{port}/{db}"
