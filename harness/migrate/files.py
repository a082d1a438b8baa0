"""Migration files: `NNNN_name.up.sql` with its `NNNN_name.down.sql`, checksummed.

A file whose first lines hold `-- harness:no-transaction` runs statement by statement outside a
transaction (for `CREATE INDEX CONCURRENTLY` and the like).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import MigrationFileError, MigrationsNotFound
from harness.migrate.sql import split_statements

FILENAME = re.compile(r"^(?P<version>\d{4,})_(?P<name>[a-z0-9][a-z0-9_]*)\.(?P<direction>up|down)\.sql$")
NO_TRANSACTION = "-- harness:no-transaction"
HEADER_LINES = 5


@dataclass(frozen=True)
class Script:
    """One direction of a migration."""

    path: Path
    sql: str

    @property
    def transactional(self) -> bool:
        head = self.sql.lstrip().splitlines()[:HEADER_LINES]
        return not any(line.strip().lower() == NO_TRANSACTION for line in head)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: Script
    down: Script

    @property
    def sha256(self) -> str:
        """The checksum of the up file: what was applied must not change afterwards."""
        return hashlib.sha256(self.up.sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


WHERE_SET = (
    "migrations_dir in pyproject.toml [tool.harness], HARNESS_MIGRATIONS_DIR, harness_migrations_dir (pytest ini) "
    "or --dir (CLI)"
)


def load_migrations(directory: Path) -> list[Migration]:
    """Every migration in `directory`, by version; a stray, unpaired or duplicated file is an error,
    and so is a directory without any migration (a wrong path must not build an empty schema)."""
    migrations = read_migrations(directory)
    if not migrations:
        raise MigrationsNotFound(
            f"migrations directory {directory.absolute()} holds no migration (NNNN_name.up.sql and .down.sql): "
            f"write one with `harness migrate generate NAME --dir …`, or point {WHERE_SET} at yours"
        )
    return migrations


def read_migrations(directory: Path) -> list[Migration]:
    """The migrations `directory` holds, none included (`generate` starts a history there)."""
    if not directory.is_dir():
        raise MigrationsNotFound(
            f"migrations directory {directory.absolute()} does not exist: point {WHERE_SET} at yours"
        )
    found: dict[int, dict[str, Path]] = {}
    names: dict[int, str] = {}
    for path in sorted(directory.iterdir(), key=lambda p: p.name):  # by name: Path's order is slower
        if path.suffix != ".sql":
            continue
        match = FILENAME.match(path.name)
        if match is None:
            raise MigrationFileError(f"{path}: not named NNNN_name.up.sql or NNNN_name.down.sql")
        version, name, direction = int(match["version"]), match["name"], match["direction"]
        if names.setdefault(version, name) != name:
            raise MigrationFileError(f"{path}: version {version} is already used by {names[version]}")
        found.setdefault(version, {})[direction] = path
    migrations = []
    for version in sorted(found):
        pair = found[version]
        for direction in ("up", "down"):
            if direction not in pair:
                raise MigrationFileError(f"{directory}/{version:04d}_{names[version]}.{direction}.sql is missing")
        migrations.append(
            Migration(
                version=version,
                name=names[version],
                up=Script(pair["up"], read_script(pair["up"])),
                down=Script(pair["down"], read_script(pair["down"])),
            )
        )
    return migrations


def read_script(path: Path) -> str:
    """The SQL of a migration file; an empty, comment-only or non-UTF-8 file is refused by name (an
    empty up would be recorded as applied, and its checksum would then forbid writing it)."""
    try:
        sql = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationFileError(f"{path}: not UTF-8 (byte {exc.start}: {exc.reason}); save it as UTF-8") from None
    if not split_statements(sql):
        raise MigrationFileError(f"{path}: no SQL statement ({'only comments' if sql.strip() else 'empty'})")
    return sql


# The generated pair fails when applied until it is written: a file of comments alone is refused,
# and an empty migration must never be recorded as applied.
UP_TEMPLATE = """-- {label}: {title}
-- Runs in one transaction; put `-- harness:no-transaction` on the first line to opt out.

DO $$ BEGIN RAISE EXCEPTION '{label}.up.sql is still the generated template: write it'; END $$;
"""
DOWN_TEMPLATE = """-- {label}: reverses {label}.up.sql exactly (`harness migrate verify` checks it).

DO $$ BEGIN RAISE EXCEPTION '{label}.down.sql is still the generated template: write it'; END $$;
"""


def generate_migration(directory: Path, name: str) -> tuple[Path, Path]:
    """Create the next-numbered up/down pair for `name` and return their paths."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise MigrationFileError(f"migration name {name!r} has no letters or digits")
    directory.mkdir(parents=True, exist_ok=True)
    existing = read_migrations(directory)
    version = existing[-1].version + 1 if existing else 1
    label = f"{version:04d}_{slug}"
    up, down = directory / f"{label}.up.sql", directory / f"{label}.down.sql"
    up.write_text(UP_TEMPLATE.format(label=label, title=" ".join(name.split())), encoding="utf-8")
    down.write_text(DOWN_TEMPLATE.format(label=label), encoding="utf-8")
    return up, down
