"""One settings model for the CLI, the pytest plugin and the library.

Each field is filled from, lowest first: its default, the project file's `[tool.harness]` table
(the nearest pyproject.toml), `HARNESS_<FIELD>` in the environment, then what the caller passes
(pytest ini keys, then command-line options). The external backend also honours the summary's
`TEST_DATABASE_URL`, `POSTGRES_*` and `REDIS_*` (environment only). Relative paths resolve against
the project file's directory (the working directory when there is none), whatever the cwd.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from harness.project import check_table, find_project_file, read_table

BackendName = Literal["auto", "embedded", "docker", "external"]
LintMode = Literal["off", "warn", "fail"]
POSTGRES_SCHEMES = ("postgresql", "postgres")
REDIS_SCHEMES = ("redis", "rediss", "unix")
MIGRATE_LOCK_WAIT = 600.0  # seconds; see Settings.migrate_lock_wait


def default_state_dir() -> Path:
    """tmpfs when there is one (cloning and dropping databases there is 5-10x faster); one per
    user, so one user's state directory, mode 0700, never stands in another's way."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() else Path(tempfile.gettempdir())
    return base / f"harness-{os.geteuid()}"


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARNESS_", extra="ignore")

    # The pyproject.toml whose [tool.harness] was read: the nearest one from the working directory
    # up unless given (the pytest plugin gives its rootdir's). Its directory is the project root.
    project_file: Path | None = None
    # The domain plug-in: the name of its entry point in `harness.plugins` ("" = the only one
    # installed; with several installed, one must be named).
    plugin: str = ""
    backend: BackendName = "embedded"
    pg_image: str = "pgvector/pgvector:pg17"
    redis_image: str = "redis:7"
    reuse: bool = False
    keep: bool = False

    migrations_dir: Path = Path("schema/postgres/migrations")
    # development passwords of the migrations' roles, set on every server the harness prepares
    postgres_logins: Path = Path("schema/postgres/logins.toml")
    seeds_dir: Path = Path("seeds")
    redis_config: Path = Path("schema/redis/redis.conf")
    redis_acl: Path = Path("schema/redis/users.acl")
    redis_keyspace: Path = Path("schema/redis/keyspace.toml")
    redis_admin_user: str = "bp_admin"
    state_dir: Path = Field(default_factory=default_state_dir)
    database: str = "betterprompts"
    # seed profile loaded into the test template ("" = migrations only) and by `harness up`
    template_seed: str = ""
    # SQL applied to the template after the migrations and the seed (a mutant of `harness mutate`);
    # its hash is in the template's name, so each mutation gets a template of its own
    template_mutation: str = ""
    up_seed: str = "demo"
    clone_pool_size: int = Field(default=3, ge=1, le=32)
    squawk: LintMode = "warn"
    pg_max_connections: int = Field(default=300, ge=10)
    # Disposable servers commit asynchronously (fast); fault tests that crash a server need
    # every acknowledged commit on disk, so they turn this on.
    durable_commits: bool = False
    # Seconds the suites' clients wait before calling something hung (connect, pool, statement,
    # reply): generous, so a saturated machine slows a test down instead of failing it. Tests of a
    # deadline set their own short one.
    hang_timeout: float = Field(default=120, gt=0)
    # Seconds a migration runner waits for another runner's lock on the same database before it
    # gives up, naming the holder. Long: the holder may be building an index on a big table.
    migrate_lock_wait: float = Field(default=MIGRATE_LOCK_WAIT, gt=0)

    # External backend: the names the summary uses. URLs and passwords stay out of repr (a
    # failed assertion or a log line shows Settings whole).
    test_database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("HARNESS_DATABASE_URL", "TEST_DATABASE_URL"), repr=False
    )
    postgres_host: str | None = Field(default=None, validation_alias="POSTGRES_HOST")
    postgres_port: int = Field(default=5432, ge=1, le=65535, validation_alias="POSTGRES_PORT")
    postgres_db: str = Field(default="postgres", validation_alias="POSTGRES_DB")
    postgres_user: str = Field(default="postgres", validation_alias="POSTGRES_USER")
    postgres_password: str = Field(default="", validation_alias="POSTGRES_PASSWORD", repr=False)
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("HARNESS_REDIS_URL", "REDIS_URL"), repr=False
    )
    redis_host: str | None = Field(default=None, validation_alias="REDIS_HOST")
    redis_port: int = Field(default=6379, ge=1, le=65535, validation_alias="REDIS_PORT")
    redis_password: str = Field(default="", validation_alias="REDIS_PASSWORD", repr=False)

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
            table = read_table(path)
            fields = {name: f for name, f in cls.model_fields.items() if name != "project_file"}
            check_table(path, table, fields)
        return init_settings, env_settings, InitSettingsSource(settings_cls, {**table, "project_file": path})

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        """Relative paths are the project's, wherever the command or pytest runs."""
        if self.project_file is not None:
            self.project_file = self.project_file.resolve()
        root = self.project_file.parent if self.project_file is not None else Path.cwd()
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
            if field.validation_alias is None and value is not None:
                env[f"HARNESS_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
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
