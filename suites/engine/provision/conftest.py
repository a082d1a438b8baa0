"""The provisioning tests' state directory: one of the test's own."""

from __future__ import annotations

import secrets
import shutil
import socket
from collections.abc import Iterator

import pytest

from harness.config import Settings
from suites.engine.provision.remains import purge


@pytest.fixture
def isolated_settings(harness_settings: Settings) -> Iterator[Settings]:
    """The run's backend with a state directory of the test's own, so gc here touches nothing else,
    and a failed-logs directory of its own: the logs of servers a test makes fail on purpose (a
    taken port, an unwritable file) never land in the checkout's reports/."""
    if harness_settings.backend == "external":
        pytest.skip("the external backend starts no servers")
    state_dir = harness_settings.state_dir.parent / f"harness-test-{secrets.token_hex(4)}"
    failed_logs = state_dir.with_name(state_dir.name + "-failed-logs")
    yield harness_settings.model_copy(
        update={"state_dir": state_dir, "reuse": False, "keep": False, "failed_logs_dir": failed_logs}
    )
    purge(state_dir)
    shutil.rmtree(failed_logs, ignore_errors=True)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port a listening socket of the test's own holds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]
