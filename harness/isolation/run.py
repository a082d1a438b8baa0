"""A test run's servers and template, prepared once (`prepare_run`) and handed to the xdist workers (RunState)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import asyncpg

from harness.config import Settings
from harness.isolation.recipe import Recipe, ServerFacts
from harness.isolation.state import RunState
from harness.isolation.template import base_template, ensure_template, template_exists, template_name
from harness.migrate.logins import apply_logins, load_logins
from harness.plugins import read_plugin_settings, seed_of
from harness.provision import Endpoints, Environment, environment_lock, open_environment


def template_recipe(settings: Settings, check_plugin: bool = True) -> Recipe:
    """The migrations, and the plug-in's seed profile `settings.template_seed` when one is set.
    `check_plugin=False`: the plug-in's settings are not read (loaded only for a seed); the caller
    reads them (`read_plugin_settings`) later, while the servers start."""
    if check_plugin:
        read_plugin_settings(settings)  # a plug-in not installed, or a bad setting of its, fails any run
    seed = seed_of(settings, settings.template_seed, "template_seed") if settings.template_seed else None
    return Recipe(settings.migrations_dir, seed)


async def prepare_template(
    settings: Settings,
    endpoints: Endpoints,
    evict: bool = False,
    on_built: Callable[[list[str], float], Awaitable[object]] | None = None,
    recipe: Recipe | None = None,
) -> tuple[str, bool]:
    """The template of the settings' recipe on this server (and of the mutation, when one is set),
    and the roles' development logins on the server. `evict`: a new template replaces the older
    ones of its kind (on servers that outlive the run). `on_built` is given the templates (the
    unmutated one first) and the seconds building took, when they had to be built, once the logins
    are applied (a template snapshot holds them). A template that is there costs one connection."""
    recipe = recipe or template_recipe(settings)
    logins = load_logins(settings.postgres_logins)
    admin = await asyncpg.connect(endpoints.postgres)
    try:
        name = template_name(recipe, await ServerFacts.read(admin), settings.template_mutation)
        built, seconds = False, 0.0
        if not await template_exists(admin, name):
            started = time.monotonic()
            built = await ensure_template(endpoints, name, recipe, settings.template_mutation, evict)
            seconds = time.monotonic() - started
        await apply_logins(admin, logins)
    finally:
        await admin.close()
    if built and on_built is not None:
        await on_built(list(dict.fromkeys([base_template(name), name])), seconds)
    return name, built


async def prepare_run(settings: Settings) -> tuple[Environment, RunState]:
    """Provision (or reuse) the servers and make sure the template exists; concurrent runs that
    reuse one environment take turns."""
    # the servers first: the plug-in (loaded meanwhile for Redis's credentials) is checked once they start
    recipe = template_recipe(settings, check_plugin=False)
    async with environment_lock(settings):
        env = await open_environment(settings, template_key=recipe.contents_key())
        try:
            read_plugin_settings(settings)  # a plug-in not installed, or a bad setting of its, fails any run
            name, built = await prepare_template(
                settings, env.endpoints, evict=env.persistent, on_built=env.save_snapshot, recipe=recipe
            )
        except BaseException:
            await env.abandon()
            raise
    return env, RunState(
        endpoints=env.endpoints,
        template=name,
        template_built=built,
        disposable=env.endpoints.backend == "embedded" and not env.persistent,
        logins=load_logins(settings.postgres_logins),
        clone_pool_size=settings.clone_pool_size,
        spare_clones=settings.reuse_spare_clones if settings.reuse else 0,
        hang_timeout=settings.hang_timeout,
    )
