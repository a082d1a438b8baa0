"""A port `free_port` found free can be taken before the server binds it (a parallel run's server,
a client's ephemeral port): the embedded servers, and the docker backend's containers (made again
on another port when docker refuses to publish the first), then start on another, and the
endpoints say which. Here a listening socket of the test's own takes the first port each server is
given."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis

from harness.config import Settings
from harness.errors import ProvisionError
from harness.provision import embedded as embedded_backend
from harness.provision import open_environment
from harness.provision.environment import Environment
from harness.provision.registry import EnvRecord
from suites.engine.provision.remains import state_dir_containers


def embedded(settings: Settings) -> Settings:
    if settings.backend != "embedded":
        pytest.skip("the embedded backend chooses its own ports")
    return settings


async def test_servers_whose_port_was_taken_start_on_another(
    isolated_settings: Settings, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = iter([taken_port, taken_port])  # postgres's and redis's first port
    real = embedded_backend.free_port
    monkeypatch.setattr(embedded_backend, "free_port", lambda: next(first, None) or real())
    env = await open_environment(embedded(isolated_settings))
    try:
        await assert_served_elsewhere(env, taken_port)
    finally:
        await env.close()


async def assert_served_elsewhere(env: Environment, taken_port: int) -> None:
    """Both servers answer at their endpoints, neither of which is `taken_port`."""
    pg_port, redis_port = urlsplit(env.endpoints.postgres).port, urlsplit(env.endpoints.redis).port
    assert taken_port not in (pg_port, redis_port)
    conn = await asyncpg.connect(env.endpoints.postgres)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        if env.endpoints.backend == "embedded":  # a container's server listens on its own port inside
            assert await conn.fetchval("SHOW port") == str(pg_port)
    finally:
        await conn.close()
    client = aioredis.from_url(env.endpoints.redis)
    try:
        assert await client.ping()
        if env.endpoints.backend == "embedded":
            assert (await client.config_get("port"))["port"] == str(redis_port)
    finally:
        await client.aclose()


async def test_a_port_taken_at_every_attempt_fails_with_the_servers_log(
    isolated_settings: Settings, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded_backend, "free_port", lambda: taken_port)
    with pytest.raises(
        ProvisionError,
        match=f"^port {taken_port} is taken by another process; .* on port {taken_port} exited while starting",
    ):
        await open_environment(embedded(isolated_settings))


def docker(settings: Settings) -> Settings:
    if settings.backend != "docker":
        pytest.skip("docker publishes the ports here: run with --backend docker")
    return settings


async def test_containers_whose_host_port_was_taken_are_made_again_on_another(
    isolated_settings: Settings, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.provision import containers

    first = iter([taken_port, taken_port])  # postgres's and redis's first port
    real = embedded_backend.free_port
    monkeypatch.setattr(containers, "free_port", lambda: next(first, None) or real())
    settings = docker(isolated_settings)
    env = await open_environment(settings)
    try:
        await assert_served_elsewhere(env, taken_port)
        # the containers docker refused were removed: only the two serving are left
        assert state_dir_containers(settings) == set(EnvRecord.load(env.directory).containers)
    finally:
        await env.close()


async def test_a_host_port_taken_at_every_attempt_fails_naming_it_and_leaves_no_container(
    isolated_settings: Settings, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.provision import containers

    monkeypatch.setattr(containers, "free_port", lambda: taken_port)
    settings = docker(isolated_settings)
    with pytest.raises(ProvisionError, match=f"^host port {taken_port} was taken before docker bound it, 3 ports"):
        await open_environment(settings)
    assert state_dir_containers(settings) == set()
