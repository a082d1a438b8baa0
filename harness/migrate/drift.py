"""`drift`: a live database against its own migrations. The version table alone cannot show a
column added by hand or an index dropped by hand; here the applied migrations are built into a
scratch database on the same server and both catalogs compared with `verify`'s snapshot. `status`
ends with a one-line summary of the same comparison.

Partitions are the exception: an application makes them as time passes (a monthly job), and a
migration that makes "this month's" makes different ones on another day, so a partition only one
side has, of a partitioned table both have, is set aside and named, not drift. A partition both
sides have is compared like any table.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from harness.errors import MigrationError
from harness.migrate.catalog import Snapshot, describe_difference, named_roles, take_snapshot
from harness.migrate.files import Migration
from harness.migrate.runner import MigrationRunner
from harness.migrate.verify import scratch_database

DRIFT_LIMIT = 200  # differences named before "… and N more"


@dataclass(frozen=True)
class Drift:
    applied: int  # migrations the database has applied
    differences: list[str]  # `- expected` the database lacks, `+ found` the migrations do not make
    runtime_partitions: list[str]  # partitions one side alone has, set aside (the module's docstring)


async def find_drift(dsn: str, migrations: Sequence[Migration]) -> Drift:
    """The live database of `dsn` against its applied migrations built afresh. An applied migration
    whose file is missing or was edited is an error: the comparison would mean nothing."""
    live = await asyncpg.connect(dsn)
    try:
        runner = MigrationRunner(live, migrations)
        applied = await runner.applied()
        runner.check_applied(applied)  # a missing or edited applied migration is an error
        actual = await take_snapshot(live, named_roles(migrations))
    finally:
        await live.close()
    if not applied:
        raise MigrationError("no migration is applied here: run `harness migrate up` first (or check --dsn)")
    async with scratch_database(dsn, f"hx_drift_{secrets.token_hex(4)}") as built:
        await MigrationRunner(built, [m for m in migrations if m.version in applied]).up()
        expected = await take_snapshot(built, named_roles(migrations))
    aside = set_aside(expected, actual)
    differences = describe_difference(without(expected, aside), without(actual, aside), DRIFT_LIMIT)
    return Drift(len(applied), differences, aside)


RELATION = re.compile(r"^(?P<name>\S+) kind=.* bound=(?P<bound>.*) inherits=(?P<parent>\S*) definition=")


def relations(snapshot: Snapshot) -> dict[str, str | None]:
    """Every relation of `snapshot` by qualified name: a partition's parent, None for the rest."""
    found = (RELATION.match(line) for line in snapshot.get("relations", frozenset()))
    return {m["name"]: m["parent"] if m["bound"] else None for m in found if m}


def set_aside(expected: Snapshot, actual: Snapshot) -> list[str]:
    """The partitions only one snapshot has, of a partitioned table both have."""
    ours, theirs = relations(expected), relations(actual)
    return sorted(
        name
        for name, parent in {**ours, **theirs}.items()
        if parent and (name in ours) != (name in theirs) and parent in ours and parent in theirs
    )


def without(snapshot: Snapshot, partitions: Sequence[str]) -> Snapshot:
    """`snapshot` without any line naming one of `partitions` (its columns, constraints, indexes,
    triggers too)."""
    if not partitions:
        return snapshot
    named = re.compile(r"(?<![\w.\"])(?:" + "|".join(re.escape(p) for p in partitions) + r")(?![\w\"])")
    return {kind: frozenset(line for line in lines if not named.search(line)) for kind, lines in snapshot.items()}


async def summarise_drift(dsn: str, migrations: Sequence[Migration]) -> str:
    """`status`'s line about drift: none, some (which `drift` names), or why it was not checked (no
    migration applied, an applied file edited or missing, a login that may not create the scratch
    database or build the migrations there). Never an error: status has listed the migrations."""
    try:
        drift = await find_drift(dsn, migrations)
    except asyncpg.InsufficientPrivilegeError as exc:
        return f"drift: not checked ({exc.message}: this login may not build the scratch database; --no-drift skips it)"
    except MigrationError as exc:
        return f"drift: not checked ({exc})"
    except asyncpg.PostgresError as exc:
        return f"drift: not checked ({type(exc).__name__}: {exc})"
    if not drift.differences:
        return f"drift: none (the catalog is what its {drift.applied} applied migrations make)"
    return (
        f"drift: the catalog differs from its {drift.applied} applied migrations built afresh "
        "(`harness migrate drift` names each difference)"
    )
