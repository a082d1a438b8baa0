"""How the harness reaches the Redis servers it starts. Without an ACL file, as Redis's default
user (no password). With one (`redis_acl`), whose `default` user may well be off, as the user the
project names in `redis_admin_user`, with the development password the domain's plug-in knows:
the engine knows no user of its own."""

from __future__ import annotations

from urllib.parse import quote

from harness.config import Settings
from harness.errors import ConfigurationError
from harness.plugins import ENTRY_POINT_GROUP, load_plugin

Credentials = tuple[str, str]


def admin_credentials(settings: Settings) -> Credentials | None:
    """The admin user and its development password, or None when no ACL file is shipped."""
    if not settings.redis_acl.is_file():
        return None
    if not settings.redis_admin_user:
        raise ConfigurationError(
            f"{settings.redis_acl} is in force (the redis_acl setting), but no redis_admin_user is set: name the ACL "
            'user the harness administers Redis as, e.g. redis_admin_user = "admin" in pyproject.toml [tool.harness]'
        )
    plugin = load_plugin(settings.plugin)
    if plugin is None or plugin.redis_password is None:
        raise ConfigurationError(
            f"{settings.redis_acl} is in force, but no installed plug-in ({ENTRY_POINT_GROUP}) knows the password "
            f"of its admin user {settings.redis_admin_user!r}"
        )
    return settings.redis_admin_user, plugin.redis_password(settings, settings.redis_admin_user)


def redis_url(host: str, port: int, credentials: Credentials | None, db: int = 0) -> str:
    auth = f"{quote(credentials[0], safe='')}:{quote(credentials[1], safe='')}@" if credentials else ""
    return f"redis://{auth}{host}:{port}/{db}"
