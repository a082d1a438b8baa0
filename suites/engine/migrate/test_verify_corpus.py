"""`verify` to pg_dump's standard: a down wrong by one edit, of any kind of object or property
`pg_dump --schema-only` / `pg_dumpall --roles-only` prints, fails naming the migration and the
object; the correct downs, those that come back in another order included, pass.

Each verify runs in-process in its own scratch database on the session's server; names carry a
per-test token, so the cases run side by side and the roles a wrong down leaves are dropped after."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest
import pytest_asyncio
from _pytest.mark import ParameterSet

from harness import migrate
from harness.errors import VerificationFailed
from harness.provision import Endpoints
from suites.engine.migrate.histories import WriteMigrations
from suites.engine.migrate.wrong_downs import ANOTHER_ORDER, WRONG_DOWNS, Case

CHUNKS = 4  # the correct downs are verified as this many histories, so xdist spreads them


@pytest_asyncio.fixture
async def prefix(endpoints: Endpoints) -> AsyncIterator[str]:
    """A token for the test's names; the roles carrying it are dropped afterwards (roles belong to
    the server, and a wrong down leaves them behind)."""
    token = f"v{secrets.token_hex(3)}_"
    yield token
    conn = await asyncpg.connect(endpoints.postgres)
    try:
        for role in await conn.fetch("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", token):
            await conn.execute(f'DROP ROLE "{role[0]}"')
    finally:
        await conn.close()


def history(cases: Sequence[tuple[str, Case]], prefix: str, *, wrong: bool) -> dict[str, tuple[str, str]]:
    """Migration files for `cases` in turn (each its setup, then its change), `@` made the case's name."""
    files: dict[str, tuple[str, str]] = {}
    for case_id, case in cases:
        name = prefix + case_id.replace("-", "_")
        steps = [case.setup] if case.setup else []
        steps.append((case.up, case.wrong_down() if wrong else case.down))
        for up, down in steps:
            files[f"{len(files) + 1:04d}_{case_id.replace('-', '_')}"] = (
                up.replace("@", name),
                down.replace("@", name),
            )
    return files


@pytest.mark.parametrize("case", WRONG_DOWNS)
async def test_a_down_wrong_by_one_edit_fails_naming_the_migration_and_the_object(
    endpoints: Endpoints, write_migrations: WriteMigrations, prefix: str, case: Case, request: pytest.FixtureRequest
) -> None:
    case_id = request.node.callspec.id
    directory = write_migrations(history([(case_id, case)], prefix, wrong=True))
    with pytest.raises(VerificationFailed) as failure:
        await migrate.verify_migrations(endpoints.postgres, migrate.load_migrations(directory))
    label = max(path.name for path in directory.glob("*.down.sql"))
    message = str(failure.value)
    assert message.startswith(f"{directory / label} does not exactly reverse"), message
    assert case.named.replace("@", prefix + case_id.replace("-", "_")) in message, message


def chunks(params: Sequence[ParameterSet], count: int) -> list[ParameterSet]:
    cases = [(str(p.id), p.values[0]) for p in params]
    return [pytest.param(cases[i::count], id=f"{i + 1}-of-{count}") for i in range(count)]


@pytest.mark.parametrize("cases", chunks(WRONG_DOWNS + ANOTHER_ORDER, CHUNKS))
async def test_the_correct_downs_verify_those_that_come_back_in_another_order_included(
    endpoints: Endpoints, write_migrations: WriteMigrations, prefix: str, cases: list[tuple[str, Case]]
) -> None:
    files = history(cases, prefix, wrong=False)
    report = await migrate.verify_migrations(endpoints.postgres, migrate.load_migrations(write_migrations(files)))
    assert report[-1] == "full down: no object left behind"
    assert len(report) == len(files) + 1


async def test_verify_runs_where_the_migrations_roles_already_exist(
    endpoints: Endpoints, write_migrations: WriteMigrations, prefix: str
) -> None:
    """Roles belong to the server: a migration creates its role only when missing, and its down
    leaves one another database still uses. Both are the same catalog to verify."""
    role = f"{prefix}owner"
    up = f"""DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role}; END IF;
END $$;
CREATE SCHEMA app AUTHORIZATION {role};
"""
    down = f"""DROP SCHEMA app;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_shdepend WHERE refobjid = '{role}'::regrole) THEN DROP ROLE {role}; END IF;
END $$;
"""
    migrations = migrate.load_migrations(write_migrations({"0001_owner": (up, down)}))
    await migrate.verify_migrations(endpoints.postgres, migrations)  # the role made here, then dropped
    conn = await asyncpg.connect(endpoints.postgres)
    try:
        await conn.execute(f"CREATE ROLE {role}")
        await conn.execute(f"CREATE SCHEMA {prefix}elsewhere AUTHORIZATION {role}")  # a use it must keep
        try:
            report = await migrate.verify_migrations(endpoints.postgres, migrations)
        finally:
            await conn.execute(f"DROP SCHEMA {prefix}elsewhere")
    finally:
        await conn.close()
    assert report == ["0001_owner: up → down → up leaves the catalog identical", "full down: no object left behind"]
