"""The users. AppUser runs BetterPrompts' mix against PostgreSQL and Redis; PrimaryKeyReader drives
the pgbench comparison and is never part of the mix.

Every operation fires Locust's request event with request_type "pg" or "redis", its name, and its
response time in float milliseconds; an exception marks it failed.
"""

from __future__ import annotations

import logging
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
from gevent.lock import BoundedSemaphore
from locust import User, task
from locust.env import Environment

from loadtests._dataset import World, load_world
from loadtests._pg import Cursor, Enhancement, Postgres
from loadtests._redis import AppRedis
from loadtests._target import resolve_target

HOT_CACHE_KEYS, HOT_SHARE = 20, 0.8  # most reads ask for a popular response; the rest are new
CACHED_RESPONSE = b'{"enhanced": "' + b"x" * 1024 + b'"}'

logger = logging.getLogger("loadtests")


@contextmanager
def measured(environment: Environment, request_type: str, name: str) -> Iterator[dict[str, Any]]:
    """Like `events.request.measure`, except that a user killed mid-request (GreenletExit, not an
    Exception) records nothing, where `measure` would record a short success."""
    request: dict[str, Any] = {"request_type": request_type, "name": name, "response_length": 0, "context": {},
                               "exception": None, "start_time": time.time()}  # fmt: skip
    started = time.perf_counter()
    try:
        yield request
    except Exception as exc:
        request["exception"] = exc
    request["response_time"] = (time.perf_counter() - started) * 1000
    environment.events.request.fire(**request)


class SessionMissing(Exception):
    """A session created at the user's start was not there any more."""


@dataclass(frozen=True)
class Clients:
    """One process's pools and data sample, shared by its users."""

    postgres: Postgres
    redis: AppRedis
    world: World
    reads: Postgres  # the replica's pool when there is one (LOADTEST_REPLICA_DATABASE_URL), else `postgres`

    def close(self) -> None:
        self.postgres.close()
        if self.reads is not self.postgres:
            self.reads.close()
        self.redis.close()


_clients: Clients | None = None
_connecting = BoundedSemaphore()


def process_clients(environment: Environment) -> Clients:
    """The process's clients, made by its first user: after Locust has forked its workers, so no
    connection is shared across processes. The sample of users and vectors is read as the admin;
    the pool that serves the requests logs in as bp_app."""
    global _clients
    with _connecting:
        if _clients is None:
            options = environment.parsed_options
            assert options is not None
            connect_timeout = max(1, math.ceil(options.request_timeout))
            target = resolve_target()
            # the users to act as are every user's rows, which only the admin sees whole
            with psycopg.connect(target.postgres_dsn, autocommit=True, connect_timeout=connect_timeout) as admin:
                world = load_world(admin)
            postgres = Postgres(target.app_dsn, max_size=options.pg_pool_size, timeout=options.request_timeout)
            logger.info("postgres requests log in as %s", postgres.login())
            reads = postgres
            if target.replica_app_dsn:
                reads = Postgres(target.replica_app_dsn, max_size=options.pg_pool_size, timeout=options.request_timeout)
                logger.info("postgres reads go to the replica as %s", reads.login())
            redis = AppRedis(target.redis_url, target.keyspace, options.request_timeout)
            _clients = Clients(postgres, redis, world, reads)
        return _clients


def close_process_clients() -> None:
    global _clients
    if _clients is not None:
        _clients.close()
        _clients = None


class AppUser(User):
    """A signed-in BetterPrompts user: logs in (a Redis session) as one of the seeded users, then
    runs the mix, pausing up to --think-time seconds between operations."""

    def on_start(self) -> None:
        clients = process_clients(self.environment)
        self.pg, self.redis, self.world = clients.postgres, clients.redis, clients.world
        self.reads = clients.reads
        self.rng = random.Random()
        self.user_id = self.rng.choice(self.world.user_ids)
        self.cursor: Cursor | None = None
        self.session_id = ""
        with measured(self.environment, "redis", "session create"):
            self.session_id = self.redis.create_session(self.user_id)

    def wait_time(self) -> float:
        assert self.environment.parsed_options is not None
        return self.rng.uniform(0, self.environment.parsed_options.think_time)

    def read_history_page(self) -> None:
        """The next page of the user's history (keyset); back to the first after the last."""
        with measured(self.environment, "pg", "history page"):
            self.cursor = self.reads.history_page(self.user_id, self.cursor)

    def search_similar(self) -> None:
        with measured(self.environment, "pg", "similarity search"):
            self.reads.similar(self.user_id, self.rng.choice(self.world.vectors))

    def record_enhancement(self) -> None:
        rng, world = self.rng, self.world
        enhancement = Enhancement(
            user_id=self.user_id,
            original_input=f"Explain how {rng.choice(world.intents)} works, request {rng.getrandbits(32)}",
            enhanced_output="Let's think step by step. " * rng.randint(4, 40),
            intent=rng.choice(world.intents),
            techniques=rng.sample(world.techniques, rng.randint(1, 3)),
            processing_time_ms=rng.randint(40, 900),
            feedback_score=rng.randint(1, 5),
            embedding=rng.choice(world.vectors),
        )
        with measured(self.environment, "pg", "record enhancement"):
            self.pg.record_enhancement(enhancement)

    def check_session(self) -> None:
        with measured(self.environment, "redis", "session check"):
            if not self.redis.check_session(self.session_id):
                raise SessionMissing(f"session of user {self.user_id} is gone")

    def call_rate_limited(self) -> None:
        with measured(self.environment, "redis", "rate limit"):
            self.redis.admit(self.user_id)

    def use_api_cache(self) -> None:
        """Cache-aside: a hit, or a miss followed by storing the response (5 min)."""
        hot = self.rng.random() < HOT_SHARE
        key = ("GET", "/api/v1/enhance", str(self.rng.randrange(HOT_CACHE_KEYS)) if hot else uuid.uuid4().hex)
        cached: bytes | None = b""  # stays set when the read fails, so a failed read stores nothing
        with measured(self.environment, "redis", "cache hit") as request:
            cached = self.redis.cache_get(key)
            if cached is None:
                request["name"] = "cache miss"
        if cached is None:
            with measured(self.environment, "redis", "cache set"):
                self.redis.cache_set(key, CACHED_RESPONSE)


# The mix, in one place: how often each operation runs, in percent of a user's operations.
MIX: dict[Callable[[AppUser], None], int] = {
    AppUser.check_session: 30,
    AppUser.call_rate_limited: 20,
    AppUser.use_api_cache: 20,
    AppUser.read_history_page: 15,
    AppUser.search_similar: 8,
    AppUser.record_enhancement: 7,
}
AppUser.tasks = [operation for operation, weight in MIX.items() for _ in range(weight)]


class PrimaryKeyReader(User):
    """Primary-key reads of auth.users back to back (no think time), for the pgbench comparison:
    loadtests.compare_pgbench sets `postgres` and `user_ids` before it starts any."""

    postgres: ClassVar[Postgres]
    user_ids: ClassVar[Sequence[str]]

    @task
    def read_user(self) -> None:
        with measured(self.environment, "pg", "pk read"):
            self.postgres.read_user(random.choice(self.user_ids))
