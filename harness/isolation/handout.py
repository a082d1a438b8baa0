"""Clones handed to another process (`harness clone`, `harness drop`): a Go or Java suite gets the
isolation the pytest plugin gives, a database of its own cloned from the same template.

A handed-out clone is a plain database on the running servers, so it outlives the command that made
it. Its name, `<template>_c<12 hex digits>`, is the mark `drop` checks before it drops anything:
a typo, a pool's clone or another program's database is refused, never dropped.
"""

from __future__ import annotations

import re
import secrets

import asyncpg

from harness.config import Settings
from harness.errors import ConfigurationError, UnknownClone
from harness.isolation.run import prepare_template
from harness.isolation.template import clone_database
from harness.provision.databases import drop_database
from harness.provision.endpoints import Endpoints
from harness.provision.locking import exclusive

HANDED_OUT = re.compile(r"hx_[0-9a-f]{16}(?:_m[0-9a-f]{12})?_c[0-9a-f]{12}")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")  # a plain PostgreSQL name, 63 bytes at most
LOCK = "clone.lock"


def check_handed_out(name: str) -> None:
    """Refuse, in one line, a name `harness clone` cannot have made."""
    if not IDENTIFIER.fullmatch(name):
        raise ConfigurationError(f"{name!r} is not a database name (letters, digits and _, at most 63)")
    if not HANDED_OUT.fullmatch(name):
        raise ConfigurationError(
            f"{name} is not a clone `harness clone` made (hx_<hash>_c<12 hex digits>); "
            "harness drops only its own: drop other databases with your own tools"
        )


async def hand_out_clone(settings: Settings, endpoints: Endpoints) -> str:
    """A new clone of the template these settings name (built first when missing, as the plugin
    would build it); its name."""
    # one at a time: concurrent ALTER ROLEs of the logins would collide
    async with exclusive(settings.state_dir / LOCK, "the template", settings.hang_timeout):
        template, _ = await prepare_template(settings, endpoints)
    name = f"{template}_c{secrets.token_hex(6)}"
    admin = await asyncpg.connect(endpoints.postgres)
    try:
        await clone_database(admin, template, name)
    finally:
        await admin.close()
    return name


async def drop_clone(endpoints: Endpoints, name: str) -> None:
    """Drop a handed-out clone (its connections too); an unknown one is an error, not a no-op, so a
    wrong name is noticed."""
    check_handed_out(name)
    admin = await asyncpg.connect(endpoints.postgres)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            raise UnknownClone(f"no clone {name} on the running servers (dropped already, or another environment's)")
        await drop_database(admin, name)
    finally:
        await admin.close()
