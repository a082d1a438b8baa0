"""What a test run shares: endpoints and template, prepared once and handed to xdist workers."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from harness.config import Settings
from harness.isolation.template import ensure_template, template_name
from harness.migrate.logins import apply_logins, load_logins
from harness.provision import Endpoints, Environment, environment_lock, open_environment


@dataclass(frozen=True)
class RunState:
    """Serialisable: it travels to the workers through `workerinput`."""

    endpoints: Endpoints
    template: str
    template_built: bool

    def to_json(self) -> str:
        data = asdict(self)
        data["endpoints"] = asdict(self.endpoints)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> RunState:
        data = json.loads(text)
        data["endpoints"] = Endpoints(**data["endpoints"])
        return cls(**data)


def settings_template(settings: Settings) -> str:
    """The name of the template these settings build (the pytest header names it before it exists)."""
    return template_name(
        settings.migrations_dir, settings.seeds_dir, extra=settings.template_seed, mutation=settings.template_mutation
    )


async def prepare_template(settings: Settings, endpoints: Endpoints) -> tuple[str, bool]:
    """The template for these migrations and seeds (and the seed profile, when one is set; and the
    mutation, when one is set), and the roles' development logins on the server."""
    name = settings_template(settings)
    seeder = None
    if settings.template_seed:
        from harness.seed import seed

        async def seeder(dsn: str) -> None:
            await seed(dsn, settings.template_seed, seeds_dir=settings.seeds_dir)

    built = await ensure_template(endpoints, name, settings.migrations_dir, seeder, settings.template_mutation)
    await apply_logins(endpoints.postgres, load_logins(settings.postgres_logins))
    return name, built


async def prepare_run(settings: Settings) -> tuple[Environment, RunState]:
    """Provision (or reuse) the servers and make sure the template exists; concurrent runs that
    reuse one environment take turns."""
    async with environment_lock(settings):
        env = await open_environment(settings)
        try:
            name, built = await prepare_template(settings, env.endpoints)
        except BaseException:
            await env.abandon()
            raise
    return env, RunState(env.endpoints, name, built)
