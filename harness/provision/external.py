"""The external backend: servers someone else runs, named by TEST_DATABASE_URL / POSTGRES_* / REDIS_*.

The harness creates only its own databases there (template and clones, all prefixed `hx_`) and
never stops, pauses or drops anything it did not create.
"""

from __future__ import annotations

from pathlib import Path

from harness.config import Settings
from harness.errors import ConfigurationError, ProvisionError
from harness.provision.endpoints import Endpoints
from harness.provision.environment import Environment
from harness.provision.faults import Faults
from harness.provision.registry import EnvRecord
from harness.provision.waiting import wait_until_serving


class NoProcessControl:
    """The external backend's servers are not ours to stop or pause."""

    def __init__(self, what: str) -> None:
        self.what = what

    def _refuse(self) -> None:
        raise ProvisionError(
            f"the external backend does not control {self.what}: only terminate_connections works there"
        )

    async def stop(self, immediate: bool) -> None:
        self._refuse()

    async def start(self) -> None:
        self._refuse()

    async def pause(self) -> None:
        self._refuse()

    async def unpause(self) -> None:
        self._refuse()


class ExternalEnvironment(Environment):
    @classmethod
    async def start(cls, directory: Path, record: EnvRecord, settings: Settings) -> ExternalEnvironment:
        dsn, url = settings.external_postgres_dsn(), settings.external_redis_url()
        if dsn is None or url is None:
            missing = "TEST_DATABASE_URL or POSTGRES_HOST" if dsn is None else "REDIS_URL or REDIS_HOST"
            raise ConfigurationError(f"the external backend needs {missing} in the environment")
        endpoints = Endpoints(postgres=dsn, redis=url, backend="external")
        await wait_until_serving(dsn, url, timeout=30)
        record.endpoints = endpoints.to_json()
        record.save(directory)
        faults = Faults(endpoints, NoProcessControl("postgres"), NoProcessControl("redis"))
        return cls(endpoints, faults, directory, record)

    def alive(self) -> bool:
        return True

    async def stop_servers(self) -> None:
        """Nothing to stop: the servers are not ours."""
