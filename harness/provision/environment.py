"""A running Postgres+Redis pair, whatever started it, and how it ends."""

from __future__ import annotations

import contextlib
import shutil
from abc import ABC, abstractmethod
from pathlib import Path

from harness.provision.endpoints import Endpoints
from harness.provision.faults import Faults
from harness.provision.registry import EnvRecord, current_process


class Environment(ABC):
    """Endpoints, faults, and the directory and record that let `harness gc` find it."""

    def __init__(self, endpoints: Endpoints, faults: Faults, directory: Path, record: EnvRecord) -> None:
        self.endpoints = endpoints
        self.faults = faults
        self.directory = directory
        self.record = record
        self.failed = False  # set by the run's owner when it failed: a backend keeps what may explain it

    @property
    def persistent(self) -> bool:
        return self.record.persistent

    @abstractmethod
    def alive(self) -> bool:
        """Whether the servers still run (a reused environment may have died since)."""

    @property
    def from_snapshot(self) -> bool:
        """Whether the servers started from a template snapshot (harness.provision.snapshot_cache)."""
        return False

    async def save_snapshot(self, templates: list[str], build_seconds: float) -> bool:
        """Save the servers' data with `templates` (built in `build_seconds`) for later runs of the
        same recipe; whether it was saved (the embedded and docker backends keep snapshots)."""
        return False

    @abstractmethod
    async def stop_servers(self) -> None:
        """Stop and remove the servers this environment started (none for the external backend)."""

    async def close(self) -> None:
        """End of a run: tear down, unless the environment was started to outlive its owner."""
        if not self.persistent:
            await self.destroy()

    async def abandon(self) -> None:
        """After a failed set-up: remove what this process started, persistent or not; an
        environment found running (reused, detached) stays as it was found."""
        if self.record.owner == current_process():
            await self.destroy()

    async def destroy(self) -> None:
        await self.stop_servers()
        shutil.rmtree(self.directory, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.directory.parent.rmdir()  # the state directory, once its last environment is gone

    async def __aenter__(self) -> Environment:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
