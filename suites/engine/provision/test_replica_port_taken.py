"""A replica's port, like its primary's, can be taken between `free_port` and the bind (a parallel
run's server): the embedded replica starts on another port, the docker replica's container is made
again on another (the refused one removed), and the replica's DSN says where it serves. Here a
listening socket of the test's own takes the first port the replica is given."""

from __future__ import annotations

from types import ModuleType
from urllib.parse import urlsplit

import asyncpg
import pytest

from harness.config import Settings
from harness.provision import embedded as embedded_backend
from harness.provision import open_environment
from harness.provision.registry import EnvRecord
from harness.provision.replica import start_replica
from suites.engine.provision.remains import state_dir_containers


async def test_a_replica_whose_port_was_taken_serves_on_another(
    isolated_settings: Settings, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isolated_settings.backend not in ("embedded", "docker"):
        pytest.skip("a replica needs servers the harness starts")
    env = await open_environment(isolated_settings)
    try:
        chooser: ModuleType = embedded_backend
        if env.endpoints.backend == "docker":
            from harness.provision import containers as chooser
        first = iter([taken_port])  # the replica's first port; the primary and redis already serve
        real = embedded_backend.free_port
        monkeypatch.setattr(chooser, "free_port", lambda: next(first, None) or real())
        async with await start_replica(env, isolated_settings) as replica:
            assert next(first, None) is None, "the replica was never given the taken port"
            assert urlsplit(replica.dsn).port != taken_port
            conn = await asyncpg.connect(replica.dsn)
            try:
                assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
            finally:
                await conn.close()
            if env.endpoints.backend == "docker":  # the container docker refused was removed
                assert state_dir_containers(isolated_settings) == set(EnvRecord.load(env.directory).containers)
                assert len(EnvRecord.load(env.directory).containers) == 3
    finally:
        await env.close()
