"""The main job: `harness up` brings up migrated servers; `harness down` stops detached ones."""

from __future__ import annotations

import asyncio
import dataclasses
import signal

import asyncpg

from harness.config import Settings
from harness.errors import ProvisionError
from harness.isolation.run import prepare_template
from harness.plugins import seed_of
from harness.provision import Environment, environment_lock, open_environment
from harness.provision.databases import create_database
from harness.provision.endpoints import Endpoints
from harness.provision.gc import Collected, remove_environment_files
from harness.provision.registry import RECORD, EnvRecord, why_kept


async def bring_up(settings: Settings, persistent: bool, replica: bool = False) -> tuple[Environment, str]:
    """Servers (found again if a detached `up` left them), the template, and the working database
    seeded with `settings.up_seed` (incrementally: bringing it up again adds nothing); with
    `replica`, a streaming replica of the primary too (`env.endpoints.replica`). A second `up` of
    the same project waits for the first and attaches; a failed one leaves nothing."""
    async with environment_lock(settings, purpose="up"):
        env = await open_environment(settings, purpose="up", persistent=persistent)
        try:
            database_dsn = await _make_ready(settings, env)
            if replica:
                await _add_replica(settings, env)
            return env, database_dsn
        except BaseException:
            await env.abandon()
            raise


async def _add_replica(settings: Settings, env: Environment) -> None:
    """A streaming replica of `env`'s primary, in its record's endpoints (where `harness env` reads
    it and `harness down` finds it); one an earlier `up` started is kept."""
    from harness.provision.replica import start_replica  # start-up: only `up --replica` needs it

    recorded = Endpoints.from_json(env.record.endpoints) if env.record.endpoints else env.endpoints
    if recorded.replica is None:
        started = await start_replica(env, settings)
        recorded = dataclasses.replace(env.endpoints, replica=started.dsn)
        env.record.endpoints = recorded.to_json()
        env.record.save(env.directory)
    env.endpoints = recorded


async def _make_ready(settings: Settings, env: Environment) -> str:
    """The template, the working database cloned from it, the `up_seed` profile loaded into it:
    the working database's DSN."""
    template, _ = await prepare_template(settings, env.endpoints, evict=env.persistent)
    admin = await asyncpg.connect(env.endpoints.postgres)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", settings.database):
            await create_database(admin, settings.database, template)
    finally:
        await admin.close()
    if settings.up_seed:  # without a plug-in that seeds, one line naming the setting
        seed = seed_of(settings, settings.up_seed, "up_seed")
        await seed.load(env.endpoints.postgres_dsn(settings.database))
    return env.endpoints.postgres_dsn(settings.database)


async def hold_until_interrupted(env: Environment) -> None:
    """Serve until SIGINT or SIGTERM, then stop and remove everything."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await env.destroy()


async def bring_down(settings: Settings) -> Collected:
    """Destroy this project's detached `up` environments; name the others and leave them alone."""
    done = Collected()
    here = str(settings.project_root)
    for directory in sorted(settings.state_dir.glob("up-*")):
        if not directory.is_dir():
            continue  # a lock file
        record = EnvRecord.load(directory)
        reason = why_kept(record.owner, record.persistent, record.project, here, everything=True)
        if reason is None:
            await asyncio.to_thread(remove_environment_files, directory, record)
            done.removed.append(f"{record.env_id} ({record.backend})")
        else:
            done.kept.append(f"{record.env_id} ({record.backend}): {reason}")
    return done


def project_up_urls(settings: Settings) -> dict[str, str]:
    """DATABASE_URL and REDIS_URL (and REPLICA_DATABASE_URL, with `up --replica`), passwords
    included, of this project's running `up` environment: what `harness env` hands to a shell."""
    endpoints = project_up_endpoints(settings)
    urls = {"DATABASE_URL": endpoints.postgres_dsn(settings.database), "REDIS_URL": endpoints.redis}
    if endpoints.replica is not None:  # `up --replica`'s
        urls["REPLICA_DATABASE_URL"] = endpoints.replica_dsn(settings.database)
    return urls


def project_up_endpoints(settings: Settings) -> Endpoints:
    """The servers of this project's running `up` environment (`harness env`, `clone`, `drop`)."""
    here = str(settings.project_root)
    for directory in sorted(settings.state_dir.glob(f"up-*/{RECORD}")):
        record = EnvRecord.load(directory.parent)
        if record.project in ("", here) and record.endpoints and all(ref.alive() for ref in record.processes):
            return Endpoints.from_json(record.endpoints)
    raise ProvisionError(f"no `harness up` environment runs for {here}: start one with `harness up --detach`")
