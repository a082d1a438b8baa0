"""A state directory of the test's (or the module's) own, and a detached `harness up` in it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import Settings
from suites.engine.cli.commands import harness
from suites.engine.provision.remains import purge


def own_state(harness_settings: Settings) -> dict[str, str]:
    """The run's settings for a child process, with a state directory nobody else uses."""
    if harness_settings.backend == "external":
        pytest.skip("`harness up` starts servers; the external backend has none to start")
    state_dir = harness_settings.state_dir.parent / f"harness-cli-{secrets.token_hex(4)}"
    return {**harness_settings.as_environment(), "HARNESS_STATE_DIR": str(state_dir), "HARNESS_BCRYPT_COST": "4"}


@pytest.fixture
def state_env(harness_settings: Settings) -> Iterator[dict[str, str]]:
    env = own_state(harness_settings)
    yield env
    purge_state(env)


@pytest.fixture(scope="module")
def up_env(harness_settings: Settings) -> Iterator[dict[str, str]]:
    """A migrated, unseeded `harness up --detach` for the module's tests; `harness down` after."""
    env = {**own_state(harness_settings), "HARNESS_UP_SEED": ""}
    try:
        up = harness("up", "--detach", env=env)
        assert up.returncode == 0, up.stderr
        yield env
        down = harness("down", env=env)
        assert down.returncode == 0, down.stderr
    finally:
        purge_state(env)


def purge_state(env: dict[str, str]) -> None:
    purge(Path(env["HARNESS_STATE_DIR"]))
