"""One settings model for the CLI, the pytest plugin and the library.

Each field is filled from, lowest first: its default, the project file's `[tool.harness]` table
(the nearest pyproject.toml), `HARNESS_<FIELD>` in the environment, then what the caller passes
(pytest ini keys, then command-line options). The external backend also honours the summary's
`TEST_DATABASE_URL`, `POSTGRES_*` and `REDIS_*` (environment only). The plug-in's own settings
come from its sub-table `[tool.harness.<plug-in>]` and the environment (harness.plugins). Relative
paths resolve against the project file's directory (the working directory when there is none),
whatever the cwd; that directory is also the project's identity. Each field's description is its documentation:
`harness settings --markdown` prints them as the README's table.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from harness.defaults import MIGRATE_LOCK_WAIT
from harness.project import check_table, find_project_file, plugin_tables, read_table

BackendName = Literal["auto", "embedded", "docker", "external"]
LintMode = Literal["off", "warn", "fail"]
POSTGRES_SCHEMES = ("postgresql", "postgres")
REDIS_SCHEMES = ("redis", "rediss", "unix")


def default_state_dir() -> Path:
    """tmpfs when there is one (cloning and dropping databases there is 5-10x faster); one per
    user, so one user's state directory, mode 0700, never stands in another's way."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() else Path(tempfile.gettempdir())
    return base / f"harness-{os.geteuid()}"


def default_initdb_cache() -> Path:
    """Beside the default state directory, on tmpfs when there is one (copying from it is fastest)."""
    return default_state_dir().with_name(f"harness-initdb-{os.geteuid()}")


def url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    """What makes `url` unusable for a server of `schemes` (its scheme, a port outside 1-65535), or None."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        return f"the scheme must be {' or '.join(f'{s}://' for s in schemes)}, not {parts.scheme or 'missing'}"
    for host in parts.netloc.rpartition("@")[2].split(","):  # libpq allows host1:port1,host2:port2
        raw = host.rpartition("]")[2].rpartition(":")[2] if ":" in host.rpartition("]")[2] else ""
        if raw and not (raw.isdigit() and 1 <= int(raw) <= 65535):
            return f"port {raw} is not a number from 1 to 65535"
    return None


def as_variable(value: object) -> str:
    """`value` as pydantic-settings reads it back from the environment: lists and tables as JSON."""
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


class Settings(BaseSettings):
    """Every setting of the engine; `harness settings --markdown` prints this table for the README."""

    model_config = SettingsConfigDict(env_prefix="HARNESS_", extra="ignore")

    project_file: Path | None = Field(
        default=None,
        description="The pyproject.toml whose [tool.harness] is read: the nearest one from the working directory "
        "up (pytest: from its rootdir). Its directory is the project root: relative paths resolve against it, and "
        "it identifies the project's environments (`harness up`, `env`, `clone`, `down`, `gc`).",
    )
    plugin: str = Field(
        default="",
        description='The domain plug-in: its entry point name in `harness.plugins` ("" = the only one installed; '
        "with several installed, one must be named).",
    )
    backend: BackendName = Field(
        default="embedded",
        description="Where the servers come from: embedded (local processes), docker (containers, through the "
        "docker SDK), external "
        "(your servers: `TEST_DATABASE_URL` or `POSTGRES_*`, `REDIS_URL` or `REDIS_*`), auto (docker when the engine "
        "answers and has both images, else embedded).",
    )
    pg_image: str = Field(
        default="pgvector/pgvector:pg17",
        description="PostgreSQL+pgvector image of the docker backend.",
    )
    redis_image: str = Field(default="redis:7", description="Redis image of the docker backend.")
    reuse: bool = Field(
        default=False,
        description="Keep a local server and its templates between runs; an unchanged schema is not migrated again.",
    )
    keep: bool = Field(
        default=False,
        description="Leave this run's servers running afterwards (`harness gc --all` stops them).",
    )

    migrations_dir: Path = Field(
        default=Path("schema/postgres/migrations"),
        description="The migrations: NNNN_name.up.sql, each with its NNNN_name.down.sql.",
    )
    postgres_logins: Path = Field(
        default=Path("schema/postgres/logins.toml"),
        description='Development passwords of the migrations\' roles (`[role]` `password = "…"`), set on every '
        "server the harness prepares; `harness env` and `clone` print a `<ROLE>_DATABASE_URL` for each role in it.",
    )
    seeds_dir: Path = Field(default=Path("seeds"), description="The data the plug-in's seed profiles read.")
    redis_config: Path = Field(
        default=Path("schema/redis/redis.conf"), description="The redis.conf the Redis servers start with."
    )
    redis_acl: Path = Field(
        default=Path("schema/redis/users.acl"),
        description="The ACL file the Redis servers start with; when there is no such file, Redis's default user "
        "serves (no ACL, no password).",
    )
    redis_keyspace: Path = Field(
        default=Path("schema/redis/keyspace.toml"),
        description="The Redis keyspace contract (prefixes, types, TTLs, users) the domain reads.",
    )
    redis_admin_user: str = Field(
        default="",
        description="The ACL user the harness administers its Redis servers as when redis_acl is in force (whose "
        "`default` user may be off); the plug-in knows its development password. Unused without an ACL file.",
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Where environments are recorded and embedded servers keep their data: `/dev/shm/harness-<uid>` "
        "(tmpfs, where cloning is 5-10x faster), else `harness-<uid>` in the temporary directory.",
    )
    initdb_cache: Path | None = Field(
        default_factory=default_initdb_cache,
        description="Where the embedded backend keeps initialised data directories, one per server version, "
        "initdb arguments and server user: a run copies one instead of running initdb (tens of ms instead of about "
        "half a second); the docker backend, as root, keeps one per image beside it (`-docker`), saving 2-3 s of a "
        'container\'s start. Empty ("") turns both off.',
    )
    template_snapshots: bool = Field(
        default=True,
        description="After a run builds a template, save the data directory with it (embedded: beside initdb_cache, "
        "`-templates`; docker, as root: beside its initdb cache, `-docker-templates`); a later run of the same recipe "
        "starts from a copy instead of running initdb and the migrations and seed. Off without initdb_cache. "
        "`harness cache list` / `clear` show and remove them.",
    )
    failed_logs_dir: Path | None = Field(
        default=Path("reports/failed-logs"),
        description="Where the embedded backend keeps a postgres log that would go with its environment: when the "
        "run failed or the server reported trouble of its own (a failed checkpoint, corruption, a PANIC); the newest "
        'ten are kept. Empty ("") keeps none.',
    )
    template_snapshot_min_build: float = Field(
        default=0.1,
        ge=0,
        description="Seconds a template must have taken to build for its snapshot to be saved: saving stops and "
        "restarts the server (0.1-0.3 s for a small template), worth it for a real schema or a seed, not for a "
        "one-table test schema.",
    )
    template_snapshots_keep: int = Field(
        default=2, ge=1, description="How many template snapshots are kept (the newest saved or used)."
    )
    database: str = Field(default="app", description="The database `harness up` creates and `harness env` names.")
    template_seed: str = Field(
        default="", description='The seed profile loaded into the test databases\' template ("" = migrations only).'
    )
    template_mutation: str = Field(
        default="",
        description="SQL applied to the template after the migrations and the seed (a mutant of `harness mutate`); "
        "its hash is in the template's name, so each mutation gets a template of its own.",
    )
    up_seed: str = Field(default="", description='The seed profile `harness up` loads ("" = none).')
    mutate_not_judges: list[str] = Field(
        default=[],  # pydantic copies a mutable default for each instance
        description="Test folders (relative to the project root) that never judge a mutant: benchmarks, load "
        "tests, the mutation suites themselves. `harness mutate` leaves them out of every run.",
    )
    mutate_kind_folders: dict[str, str] = Field(
        default={},
        description="The test folder that judges each kind of generated mutant (grant, policy, function, config, "
        "ttl, …) right after the tests that name its object; `default` for every other kind.",
    )
    clone_pool_size: int = Field(
        default=3, ge=1, le=32, description="Clones of the template each pytest worker keeps ready ahead of demand."
    )
    reuse_spare_clones: int = Field(
        default=3,
        ge=0,
        le=32,
        description="With `reuse`: ready clones of a template left on the server when a run ends (per template), "
        "taken by the next run's first tests instead of cloning; each is checked unwritten and of the current "
        "template before it is handed out. 0: none.",
    )
    squawk: LintMode = Field(
        default="warn",
        description="squawk's findings on pending migrations at `harness migrate up`: off, warn or fail.",
    )
    pg_max_connections: int = Field(
        default=300, ge=10, description="max_connections of the PostgreSQL servers the harness starts."
    )
    durable_commits: bool = Field(
        default=False,
        description="Commit synchronously on the servers the harness starts (default: asynchronously, fast); "
        "fault tests that crash a server need every acknowledged commit on disk, so they turn it on.",
    )
    hang_timeout: float = Field(
        default=120,
        gt=0,
        description="Seconds the suites' clients wait before calling something hung (connect, pool, statement, "
        "reply, a lock on a shared environment): generous, so a saturated machine slows a test down instead of "
        "failing it. Tests of a deadline set their own short one.",
    )
    migrate_lock_wait: float = Field(
        default=MIGRATE_LOCK_WAIT,
        gt=0,
        description="Seconds a migration runner waits for another runner's lock on the same database before it "
        "gives up, naming the holder. Long: the holder may be building an index on a big table.",
    )
    rehearse_max_block: float = Field(
        default=1.0,
        gt=0,
        description="Seconds a migration may keep the load's queries waiting on a lock in `harness migrate "
        "rehearse` (its `--max-block`); longer fails the rehearsal and `harness report --check`.",
    )
    insight_explain_ms: int = Field(
        default=100,
        ge=0,
        description="Milliseconds past which a statement's plan (JSON, with buffers) is logged by auto_explain on the "
        "servers the harness starts, for the run's insight.json and `harness report`.",
    )

    # The external backend's connections, from the environment only, by the summary's names. URLs
    # and passwords stay out of repr (a failed assertion or a log line shows Settings whole) and
    # out of `harness settings`.
    test_database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("HARNESS_DATABASE_URL", "TEST_DATABASE_URL", "DATABASE_URL"),
        repr=False,
        description="The external PostgreSQL server, and `harness migrate`'s database when `--dsn` is not given. "
        "`DATABASE_URL` (what `harness env` exports) counts last.",
    )
    postgres_host: str | None = Field(
        default=None,
        validation_alias="POSTGRES_HOST",
        description="The external PostgreSQL server's host, when no URL is set.",
    )
    postgres_port: int = Field(
        default=5432,
        ge=1,
        le=65535,
        validation_alias="POSTGRES_PORT",
        description="The external PostgreSQL server's port (with `POSTGRES_HOST`).",
    )
    postgres_db: str = Field(
        default="postgres",
        validation_alias="POSTGRES_DB",
        description="The database the harness connects to there (with `POSTGRES_HOST`).",
    )
    postgres_user: str = Field(
        default="postgres",
        validation_alias="POSTGRES_USER",
        description="The user it connects as, who may create databases (with `POSTGRES_HOST`).",
    )
    postgres_password: str = Field(
        default="",
        validation_alias="POSTGRES_PASSWORD",
        repr=False,
        description="That user's password (with `POSTGRES_HOST`).",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("HARNESS_REDIS_URL", "REDIS_URL"),
        repr=False,
        description="The external Redis server (`redis://`, `rediss://` or `unix://`).",
    )
    redis_host: str | None = Field(
        default=None,
        validation_alias="REDIS_HOST",
        description="The external Redis server's host, when no URL is set.",
    )
    redis_port: int = Field(
        default=6379,
        ge=1,
        le=65535,
        validation_alias="REDIS_PORT",
        description="The external Redis server's port (with `REDIS_HOST`).",
    )
    redis_password: str = Field(
        default="",
        validation_alias="REDIS_PASSWORD",
        repr=False,
        description="The external Redis server's password (with `REDIS_HOST`).",
    )

    @field_validator("initdb_cache", "failed_logs_dir", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("test_database_url", "redis_url")
    @classmethod
    def _usable_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        problem = url and url_problem(
            url, POSTGRES_SCHEMES if info.field_name == "test_database_url" else REDIS_SCHEMES
        )
        if problem:
            raise ValueError(problem)
        return url

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Callers' values, then the environment, then the project file's [tool.harness]. Not
        pydantic-settings' PyprojectTomlConfigSettingsSource: it looks only in the working directory
        (or a fixed depth above it) and ignores unknown keys, where a typo must be an error."""
        given = init_settings.init_kwargs if isinstance(init_settings, InitSettingsSource) else {}
        if "project_file" in given:
            path = Path(given["project_file"]) if given["project_file"] is not None else None
        elif os.environ.get("HARNESS_PROJECT_FILE"):
            path = Path(os.environ["HARNESS_PROJECT_FILE"])
        else:
            path = find_project_file(Path.cwd())
        table: dict[str, object] = {}
        if path is not None:
            fields = {name: f for name, f in cls.model_fields.items() if name != "project_file"}
            whole = read_table(path)
            table = {key: value for key, value in whole.items() if key not in plugin_tables(whole, fields)}
            check_table(path, table, fields)
        return init_settings, env_settings, InitSettingsSource(settings_cls, {**table, "project_file": path})

    @property
    def project_root(self) -> Path:
        """The project's directory: the project file's, else the working directory. Relative paths
        resolve against it, and environments that later commands find again (`harness up`,
        `--reuse`) belong to it, whichever subdirectory a command runs in."""
        return self.project_file.parent if self.project_file is not None else Path.cwd().resolve()

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        """Relative paths are the project's, wherever the command or pytest runs."""
        if self.project_file is not None:
            self.project_file = self.project_file.resolve()
        root = self.project_root
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Path) and not value.is_absolute():
                setattr(self, name, root / value)
        return self

    def as_environment(self) -> dict[str, str]:
        """The HARNESS_* variables that recreate these settings in a child process."""
        env = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if field.validation_alias is not None or (value is None and field.default is None):
                continue
            # a setting turned off (None where the default is something) reads back from ""
            env[f"HARNESS_{name.upper()}"] = "" if value is None else as_variable(value)
        return env

    def external_postgres_dsn(self) -> str | None:
        """The external server's DSN from TEST_DATABASE_URL, else from POSTGRES_*."""
        if self.test_database_url:
            return self.test_database_url
        if self.postgres_host:
            auth = quote(self.postgres_user, safe="")
            if self.postgres_password:
                auth += ":" + quote(self.postgres_password, safe="")
            return f"postgresql://{auth}@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
        return None

    def external_redis_url(self) -> str | None:
        """The external Redis from REDIS_URL, else from REDIS_*."""
        if self.redis_url:
            return self.redis_url
        if self.redis_host:
            auth = f":{quote(self.redis_password, safe='')}@" if self.redis_password else ""
            return f"redis://{auth}{self.redis_host}:{self.redis_port}/0"
        return None
