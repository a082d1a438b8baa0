"""How the Redis services connect: pool size, deadlines and reconnection, validated up front."""

from __future__ import annotations

from dataclasses import dataclass, field

from betterprompts_db.data.errors import InvalidInput

DEADLINES = ("socket_timeout", "connect_timeout", "pool_timeout", "health_check_interval")


@dataclass(frozen=True)
class RedisConfig:
    """The summary's pool of 100 connections, with a deadline on everything that can wait.

    `socket_timeout` bounds every command (a paused server costs a caller at most this long);
    `pool_timeout` bounds the wait for a free connection; `reconnect_attempts` retries a command
    on a dropped connection (as after a server restart), never on a timeout, so a slow server is
    not asked twice.
    """

    url: str = field(repr=False)  # it holds the password
    max_connections: int = 100
    socket_timeout: float = 1.0
    connect_timeout: float = 1.0
    pool_timeout: float = 1.0
    health_check_interval: float = 30.0  # PING a connection idle this long before reusing it
    reconnect_attempts: int = 1

    def __post_init__(self) -> None:
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise InvalidInput("url", "must be a redis://, rediss:// or unix:// URL")
        if self.max_connections < 1:
            raise InvalidInput("max_connections", f"must be at least 1, got {self.max_connections}")
        for name in DEADLINES:
            if getattr(self, name) <= 0:
                raise InvalidInput(name, f"must be positive, got {getattr(self, name)}")
        if self.reconnect_attempts < 0:
            raise InvalidInput("reconnect_attempts", f"must be 0 or more, got {self.reconnect_attempts}")
