"""The main job: `harness up` brings up migrated servers; `harness down` stops detached ones."""

from __future__ import annotations

import asyncio
import signal

import asyncpg

from harness.config import Settings
from harness.isolation.run import prepare_template
from harness.provision import Environment, open_environment
from harness.provision.gc import remove_environment_files
from harness.provision.registry import EnvRecord


async def bring_up(settings: Settings, persistent: bool) -> tuple[Environment, str]:
    """Servers (found again if a detached `up` left them), the template, and the working database
    seeded with `settings.up_seed` (incrementally: bringing it up again adds nothing)."""
    env = await open_environment(settings, purpose="up", persistent=persistent)
    try:
        template, _ = await prepare_template(settings, env.endpoints)
        admin = await asyncpg.connect(env.endpoints.postgres)
        try:
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", settings.database):
                await admin.execute(f'CREATE DATABASE "{settings.database}" TEMPLATE "{template}"')
        finally:
            await admin.close()
        if settings.up_seed:
            from harness.seed import seed

            await seed(env.endpoints.postgres_dsn(settings.database), settings.up_seed, seeds_dir=settings.seeds_dir)
    except BaseException:
        await env.close()
        raise
    return env, env.endpoints.postgres_dsn(settings.database)


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


async def bring_down(settings: Settings) -> list[str]:
    """Destroy every `up` environment of this machine's state directory."""
    stopped = []
    for directory in sorted(settings.state_dir.glob("up-*")):
        record = EnvRecord.load(directory)
        await asyncio.to_thread(remove_environment_files, directory, record)
        stopped.append(f"stopped {record.env_id} ({record.backend})")
    return stopped or ["nothing to stop"]
