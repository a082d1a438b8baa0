"""The docker backend's servers are reachable from this machine only, and its secrets are printed
nowhere: published on loopback, refused at the host's outside address, the Postgres password absent
from logs, output, container command lines, labels and container logs."""

from __future__ import annotations

import logging
import secrets
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from harness.config import Settings
from harness.provision import Environment, choose_backend, open_environment
from harness.provision.registry import EnvRecord


@dataclass(frozen=True)
class RunningContainers:
    env: Environment
    containers: list[Any]  # docker SDK Containers: postgres, redis


def outside_address() -> str | None:
    """This machine's IPv4 address on its default route, or None when it has only loopback.
    Connecting a UDP socket sends nothing; it only makes the kernel choose the source address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: any non-local address picks the route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def published_ports(container: Any) -> list[tuple[str, int]]:
    """(host address, host port) of every binding the engine reports for `container`."""
    container.reload()
    return [
        (binding["HostIp"], int(binding["HostPort"]))
        for bindings in container.attrs["NetworkSettings"]["Ports"].values()
        for binding in bindings or []
    ]


@pytest.fixture
def docker_settings(harness_settings: Settings) -> Iterator[Settings]:
    """The run's settings on the docker backend with a state directory of the test's own; skipped
    unless the run's backend is (or resolves to) docker."""
    backend, why = choose_backend(harness_settings)
    if backend != "docker":
        pytest.skip(f"the docker backend is not this run's ({why})")
    state_dir = harness_settings.state_dir.parent / f"harness-test-{secrets.token_hex(4)}"
    yield harness_settings.model_copy(
        update={"backend": "docker", "state_dir": state_dir, "reuse": False, "keep": False}
    )
    shutil.rmtree(state_dir, ignore_errors=True)


async def start(settings: Settings) -> RunningContainers:
    from harness.provision.containers import docker_client

    env = await open_environment(settings)
    client = docker_client()
    return RunningContainers(env, [client.containers.get(cid) for cid in EnvRecord.load(env.directory).containers])


@pytest_asyncio.fixture
async def running(docker_settings: Settings) -> AsyncIterator[RunningContainers]:
    started = await start(docker_settings)
    try:
        yield started
    finally:
        await started.env.close()


def test_postgres_and_redis_are_published_on_loopback_only(running: RunningContainers) -> None:
    for container in running.containers:
        bindings = published_ports(container)
        assert bindings, f"{container.name} publishes no port"
        assert {host for host, _ in bindings} == {"127.0.0.1"}, f"{container.name} publishes {bindings}"


def test_published_ports_refuse_clients_at_the_hosts_outside_address(running: RunningContainers) -> None:
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address; the loopback-bindings test covers it")
    for container in running.containers:
        for _, port in published_ports(container):
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass  # the server answers on loopback, so a refusal below is about the address
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((address, port), timeout=5).close()


async def test_the_postgres_password_is_printed_nowhere(
    docker_settings: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    running = await start(docker_settings)
    try:
        password = running.env.endpoints.postgres.partition("@")[0].rpartition(":")[2]
        assert len(password) >= 16, "the endpoint carries no generated password"
        for container in running.containers:
            container.reload()
            visible = [container.attrs["Path"], *container.attrs["Args"], *container.labels.values()]
            assert not [part for part in visible if password in part], f"{container.name} shows the password"
            assert password not in container.logs().decode(errors="replace"), f"{container.name}'s log has it"
    finally:
        await running.env.close()
    out, err = capfd.readouterr()
    assert password not in out + err
    assert password not in caplog.text
