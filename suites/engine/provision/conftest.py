"""The provisioning tests' state directory: one of the test's own."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator

import pytest

from harness.config import Settings
from suites.engine.provision.remains import purge


@pytest.fixture
def isolated_settings(harness_settings: Settings) -> Iterator[Settings]:
    """The run's backend with a state directory of the test's own, so gc here touches nothing else."""
    if harness_settings.backend == "external":
        pytest.skip("the external backend starts no servers")
    state_dir = harness_settings.state_dir.parent / f"harness-test-{secrets.token_hex(4)}"
    yield harness_settings.model_copy(update={"state_dir": state_dir, "reuse": False, "keep": False})
    purge(state_dir)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port a listening socket of the test's own holds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]
