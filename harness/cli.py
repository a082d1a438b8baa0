"""`harness`: a thin command line over the library (provision, migrate, isolation, mutate, report),
plus the commands of the installed domain's plug-in.

Every command runs through one error boundary (`ErrorBoundary`): an expected failure prints one
line naming its input and exits 2 (a bad option, setting or environment variable) or 1 (anything
else: unreachable, refused, a bad file…); only a bug shows a traceback.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Coroutine
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from harness.config import POSTGRES_SCHEMES, BackendName, LintMode, Settings, url_problem
from harness.errors import USAGE, ConfigurationError, ResultsFileError, explain
from harness.exports import Format, render, with_role_urls
from harness.extras import missing_extra
from harness.plugins import load_plugin, read_plugin_settings
from harness.provision.endpoints import Endpoints, redact
from harness.provision.registry import RECORD, EnvRecord
from harness.settings_table import effective_settings, settings_markdown
from harness.signals import cancelled_on_sigterm, interrupt_on_sigterm

if TYPE_CHECKING:
    from harness.mutate.generated import Source

# The server a command talks to (redacted), for driver errors that do not name it themselves.
TARGET: ContextVar[str | None] = ContextVar("harness_cli_target", default=None)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def fail(message: str, status: int) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(status)


class ErrorBoundary(TyperGroup):
    """The one place a command's failure becomes what the user sees (alembic's `run_cmd`)."""

    def invoke(self, ctx: Any) -> Any:  # a click Context: typer vendors its own click
        token = TARGET.set(None)
        try:
            if PLUGIN_PROBLEM is not None:
                raise PLUGIN_PROBLEM
            return super().invoke(ctx)
        except typer.Exit:  # click's way to end a command (`--help` too): no failure to explain
            raise
        except typer.BadParameter as exc:  # an option's value, as the command line parsed it
            fail(exc.format_message().replace("Value error, ", ""), USAGE)
        except Exception as exc:
            explained = explain(exc, TARGET.get())
            if explained is None:
                raise  # a bug: its traceback is what a maintainer needs
            fail(explained.message, explained.exit_status)
        finally:
            TARGET.reset(token)


app = typer.Typer(
    cls=ErrorBoundary, help="Versioned PostgreSQL+pgvector and Redis artifacts, and the harness that proves them."
)
migrate_app = typer.Typer(help="Apply, roll back, inspect and verify migrations (any repository's).")
images_app = typer.Typer(help="Local images for the docker backend, built without a registry.")
app.add_typer(migrate_app, name="migrate")
cache_app = typer.Typer(help="The embedded backend's template snapshots (a data directory with the template built).")
app.add_typer(images_app, name="images")
app.add_typer(cache_app, name="cache")

Backend = Annotated[BackendName | None, typer.Option(help="embedded | docker | external | auto")]
Dsn = Annotated[str | None, typer.Option(help="PostgreSQL DSN (default: TEST_DATABASE_URL or POSTGRES_*)")]
Dir = Annotated[Path | None, typer.Option("--dir", help="migrations directory (default: the migrations_dir setting)")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="print the SQL instead of running it")]


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Async at the core, sync at the edge: the library's coroutine, run to completion."""
    return asyncio.run(coro)


def settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def migrations_dir(given: Path | None) -> Path:
    """--dir as typed (relative to the working directory), else the setting (the project's)."""
    return given if given is not None else settings().migrations_dir


def dsn_or_environment(dsn: str | None) -> str:
    """--dsn, else the environment's database; it becomes the TARGET that connection errors name."""
    if dsn is not None and (problem := url_problem(dsn, POSTGRES_SCHEMES)):
        raise ConfigurationError(f"--dsn {redact(dsn)}: {problem}")
    found = dsn or Settings().external_postgres_dsn()
    if found is None:
        raise ConfigurationError(
            "no database given: pass --dsn, set TEST_DATABASE_URL (or POSTGRES_HOST, …), or take `harness up`'s: "
            'eval "$(harness env --format export)"'
        )
    TARGET.set(redact(found))
    return found


@app.command()
def up(
    backend: Backend = None,
    detach: Annotated[bool, typer.Option(help="leave the servers running; stop them with `harness down`")] = False,
    seed: Annotated[
        str | None, typer.Option(help='seed profile for the database ("" for none; default: the up_seed setting)')
    ] = None,
    replica: Annotated[
        bool, typer.Option(help="also a streaming replica of the primary (embedded or docker): REPLICA_DATABASE_URL")
    ] = False,
) -> None:
    """Bring up migrated, seeded servers, print their DSNs, and hold until Ctrl-C."""
    from harness.runtime import bring_up, hold_until_interrupted  # start-up: redis, pglast

    config = settings(backend=backend, up_seed=seed)
    if replica and config.backend == "external":
        raise ConfigurationError(
            "--replica needs servers the harness starts (--backend embedded or docker), not external"
        )
    env, database_dsn = run(bring_up(config, persistent=detach, replica=replica))
    if env.persistent and not detach:
        out.print(f"a detached environment is already running ({env.record.env_id}); `harness down` stops it")
    out.print(f"backend   {env.endpoints.backend}")
    out.print(f"DATABASE_URL={redact(database_dsn)}", highlight=False, soft_wrap=True)
    out.print(f"REDIS_URL={redact(env.endpoints.redis)}", highlight=False, soft_wrap=True)
    if env.endpoints.replica is not None:
        replica_dsn = redact(env.endpoints.replica_dsn(config.database))
        out.print(f"REPLICA_DATABASE_URL={replica_dsn}", highlight=False, soft_wrap=True)
    out.print('with their passwords: `harness env`, e.g. eval "$(harness env --format export)"', highlight=False)
    if env.persistent:
        out.print("running detached; `harness down` stops it")
        return
    out.print("holding; Ctrl-C stops and removes everything")
    run(hold_until_interrupted(env))


Form = Annotated[
    Format,
    typer.Option(
        "--format", help="env (NAME=value) | export (for eval) | json | github (for $GITHUB_ENV; masks on stderr)"
    ),
]


@app.command("env")
def env_urls(
    form: Form = "env",
    export: Annotated[bool, typer.Option(help="the same as --format export")] = False,
) -> None:
    """Print DATABASE_URL and REDIS_URL, passwords included, of this project's `harness up`, and a
    <ROLE>_DATABASE_URL for each role of the logins file (postgres_logins); REPLICA_DATABASE_URL
    after `harness up --replica`."""
    from harness.runtime import project_up_urls  # start-up: redis, pglast

    if export and form not in ("env", "export"):
        raise ConfigurationError(f"--export means --format export; it cannot go with --format {form}")
    config = settings()
    show(with_role_urls(project_up_urls(config), config.postgres_logins), "export" if export else form)


@app.command()
def clone(form: Form = "env") -> None:
    """Print a fresh database's DATABASE_NAME and DATABASE_URL (and the roles', as `env`): a
    clone of the template `harness up` and the pytest plugin use, for a test in another language.
    It stays until `harness drop NAME` (or `harness down`)."""
    from harness.isolation.handout import hand_out_clone  # start-up: redis, pglast
    from harness.runtime import project_up_endpoints

    config = settings()
    endpoints = project_up_endpoints(config)
    TARGET.set(redact(endpoints.postgres))
    name = run(hand_out_clone(config, endpoints))
    urls = {"DATABASE_NAME": name, "DATABASE_URL": endpoints.postgres_dsn(name)}
    show(with_role_urls(urls, config.postgres_logins), form)


@app.command()
def drop(name: Annotated[str, typer.Argument(help="a clone `harness clone` made")]) -> None:
    """Drop a database `harness clone` made (and only such one), closing its connections."""
    from harness.isolation.handout import check_handed_out, drop_clone  # start-up: redis, pglast
    from harness.runtime import project_up_endpoints

    check_handed_out(name)
    endpoints = project_up_endpoints(settings())
    TARGET.set(redact(endpoints.postgres))
    run(drop_clone(endpoints, name))
    out.print(f"dropped {name}", highlight=False)


def show(variables: dict[str, str], form: Format) -> None:
    """Write what another program reads: the masks first (GitHub must know them before any value)."""
    rendered = render(variables, form)
    sys.stderr.write(rendered.stderr)
    sys.stderr.flush()
    sys.stdout.write(rendered.stdout)


@app.command()
def down() -> None:
    """Stop what `harness up --detach` left running for this project (its replica too)."""
    from harness.runtime import bring_down  # start-up: redis, pglast

    done = run(bring_down(settings()))
    for line in done.removed:
        out.print(f"stopped {line}", highlight=False)
    for line in done.kept:
        out.print(f"left alone {line}", highlight=False)
    if not done.removed:
        out.print("nothing to stop for this project")


@app.command()
def gc(
    everything: Annotated[bool, typer.Option("--all", help="also persistent (reused, kept, up) ones")] = False,
) -> None:
    """Remove what killed runs left behind: processes, directories, containers."""
    from harness.provision.gc import collect_garbage  # start-up: redis (the backends)

    config = settings()
    done = collect_garbage(config.state_dir, str(config.project_root), everything)
    for line in done.removed:
        out.print(f"removed {line}", highlight=False)
    for line in done.kept:
        out.print(f"left alone {line}", highlight=False)
    out.print(f"{len(done.removed)} removed, {len(done.kept)} left alone")


@app.command("settings")
def show_settings(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="the documentation table (the README's) instead of the values")
    ] = False,
) -> None:
    """Every setting in force for this project, and where it came from: default, [tool.harness] or
    the environment (passwords hidden). --markdown: every setting documented, as the README has it."""
    if markdown:
        sys.stdout.write(settings_markdown(load_plugin(settings().plugin)))
        return
    table = Table("setting", "value", "from")
    for column in table.columns:
        column.overflow = "fold"  # a path in full, however narrow the terminal
    for setting in effective_settings(settings()):
        table.add_row(setting.name, escape(setting.value), escape(setting.source))
    out.print(table)


def snapshot_directories() -> list[tuple[str, Path]]:
    """The template snapshots' directories, by backend; none, said once, when the initdb cache
    (their home) is off."""
    config = settings()
    if config.initdb_cache is None:
        out.print('the initdb cache is off (initdb_cache = ""): no template snapshots')
        return []
    from harness.provision.docker_initdb import cache_root
    from harness.provision.snapshot_cache import snapshot_root

    return [
        ("embedded", snapshot_root(config.initdb_cache)),
        ("docker", snapshot_root(cache_root(config.initdb_cache))),
    ]


@cache_app.command("list")
def cache_list() -> None:
    """The template snapshots of both backends, newest (last saved or used) first: their size and
    templates."""
    from datetime import UTC, datetime

    from harness.provision.snapshot_cache import entries

    for backend, root in snapshot_directories():
        found = entries(root)
        if found:
            table = Table("entry", "MB", "last saved or used (UTC)", "templates", "whole", title=backend)
            for entry in found:
                when = datetime.fromtimestamp(entry.saved, UTC).strftime("%Y-%m-%d %H:%M:%S")
                templates = " ".join(entry.templates)
                table.add_row(entry.path.name, f"{entry.size / 1e6:.1f}", when, templates, str(entry.whole))
            out.print(table)
        out.print(f"{backend}: {len(found)} in {root}", highlight=False)


@cache_app.command("clear")
def cache_clear() -> None:
    """Remove every template snapshot of both backends (runs then build their templates again, once)."""
    from harness.provision.snapshot_cache import clear

    for backend, root in snapshot_directories():
        out.print(f"{backend}: removed {clear(root)} from {root}", highlight=False)


@app.command()
def status() -> None:
    """The environments this machine holds, the project each serves (the directory of its
    pyproject.toml), and whether their owners still run."""
    table = Table("environment", "project", "backend", "owner", "persistent", "endpoints")
    state_dir = settings().state_dir
    for directory in sorted(state_dir.glob(f"*/{RECORD}")):
        record = EnvRecord.load(directory.parent)
        endpoints = ""
        if record.endpoints:
            e = Endpoints.from_json(record.endpoints)
            endpoints = f"{redact(e.postgres)}  {redact(e.redis)}"
        owner = "alive" if record.owner.alive() else "gone"
        table.add_row(record.env_id, record.project, record.backend, owner, str(record.persistent), endpoints)
    out.print(table)


@migrate_app.command("up")
def migrate_up(
    dsn: Dsn = None,
    dir: Dir = None,
    to: int | None = None,
    dry_run: DryRun = False,
    drop_invalid: Annotated[
        bool, typer.Option("--drop-invalid", help="drop INVALID indexes an interrupted concurrent build left, first")
    ] = False,
) -> None:
    """Apply pending migrations (up to --to)."""
    from harness import migrate  # start-up: pglast

    directory = migrations_dir(dir)
    target = dsn_or_environment(dsn)
    if dry_run:
        print_plan(run(migrate.plan(target, directory, "up", to=to)))
        return
    config = settings()
    lint = migrate.pending_check(
        lint_mode(config.squawk), lambda f: err.print(f"[yellow]squawk:[/yellow] {escape(str(f))}")
    )
    steps = run(
        migrate.apply_migrations(
            target, directory, to, lock_wait=config.migrate_lock_wait, drop_invalid=drop_invalid, lint=lint
        )
    )
    out.print(
        f"applied {len(steps)} migration(s)" + "".join(f"\n  {s.migration.label}" for s in steps), highlight=False
    )


def lint_mode(mode: LintMode) -> LintMode:
    """`mode`, or off (said in one line) when squawk is missing: warnings are advice, so the engine
    migrates without the lint extra; in fail mode the missing extra stops `up` before anything runs."""
    from harness.migrate.lint import squawk_binary  # start-up: pglast (harness.migrate)

    if mode == "warn" and squawk_binary() is None:
        missing = missing_extra("lint", "linting migrations", "squawk")
        err.print(f"[yellow]squawk:[/yellow] {escape(str(missing))}; not linted", highlight=False)
        return "off"
    return mode


@migrate_app.command("down")
def migrate_down(
    dsn: Dsn = None,
    dir: Dir = None,
    to: Annotated[int | None, typer.Option(min=0, help="the version to roll back to (0: all)")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="how many migrations to roll back")] = None,
    dry_run: DryRun = False,
) -> None:
    """Roll back to --to VERSION (0 for everything) or by --steps N."""
    from harness import migrate  # start-up: pglast

    directory = migrations_dir(dir)
    target = dsn_or_environment(dsn)
    if dry_run:
        print_plan(run(migrate.plan(target, directory, "down", to=to, steps=steps)))
        return
    done = run(migrate.rollback_migrations(target, directory, to, steps, lock_wait=settings().migrate_lock_wait))
    out.print(f"rolled back {len(done)} migration(s)" + "".join(f"\n  {s.migration.label}" for s in done))


def print_plan(steps: list[Any]) -> None:
    for step in steps:
        sys.stdout.write(f"-- {step.migration.label} ({step.direction}) from {step.script.path}\n{step.script.sql}\n")
    if not steps:
        sys.stdout.write("-- nothing to do\n")


@migrate_app.command("status")
def migrate_status(
    dsn: Dsn = None,
    dir: Dir = None,
    drift: Annotated[
        bool,
        typer.Option(help="end with whether the live catalog is what the applied migrations make (as `drift`)"),
    ] = True,
) -> None:
    """Every migration: applied, pending, changed since applied, or applied but missing; then a
    line on drift (informational: the exit status stays 0; `harness migrate drift` gates)."""
    from harness import migrate  # start-up: pglast
    from harness.migrate.drift import summarise_drift

    directory = migrations_dir(dir)
    target = dsn_or_environment(dsn)
    table = Table("version", "name", "state", "applied at", "duration ms")
    for s in run(migrate.migration_status(target, directory)):
        applied = s.applied_at.isoformat(timespec="seconds") if s.applied_at else ""
        duration = f"{s.duration_ms:.1f}" if s.duration_ms is not None else ""
        table.add_row(f"{s.version:04d}", s.name, s.state, applied, duration)
    out.print(table)
    if drift:
        out.print(
            escape(run(summarise_drift(target, migrate.load_migrations(directory)))), highlight=False, soft_wrap=True
        )


@migrate_app.command("verify")
def migrate_verify(
    dsn: Dsn = None,
    dir: Dir = None,
    with_data: Annotated[
        bool, typer.Option("--with-data", help="also fill the tables with generated rows: each down must keep them")
    ] = False,
) -> None:
    """Prove on a scratch database that each down exactly reverses its up (--with-data: and keeps the rows)."""
    from harness import migrate  # start-up: pglast

    directory = migrations_dir(dir)
    migrations = migrate.load_migrations(directory)
    for line in run(migrate.verify_migrations(dsn_or_environment(dsn), migrations, with_data=with_data)):
        out.print(escape(line), highlight=False, soft_wrap=True)


@migrate_app.command("rehearse")
def migrate_rehearse(
    dsn: Dsn = None,
    dir: Dir = None,
    start: Annotated[
        int | None,
        typer.Option(
            "--from",
            min=0,
            help="rehearse the migrations after this version (default: those the --dsn database "
            "has pending; with none applied there, the last one)",
        ),
    ] = None,
    seed: Annotated[str | None, typer.Option(help="the plug-in's seed profile loaded before the load starts")] = None,
    clients: Annotated[int, typer.Option(min=1, max=64, help="load sessions")] = 8,
    baseline: Annotated[float, typer.Option(min=0.5, help="seconds of load measured before each migration")] = 3.0,
    max_block: Annotated[
        float | None, typer.Option(min=0.001, help="seconds a lock wait may last (default: rehearse_max_block)")
    ] = None,
    lock_timeout: Annotated[
        float | None, typer.Option(min=0.001, help="lock_timeout (seconds) of the migration's session")
    ] = None,
    results: Annotated[
        Path | None, typer.Option("--out", help="the results file (default: reports/local/rehearsal.json)")
    ] = None,
) -> None:
    """Apply each pending migration to a seeded scratch database under load; report per migration
    its wall time, the longest lock wait it caused, and the load's p95 and errors before and during
    it. Exit 1 when one kept queries waiting longer than --max-block, or did not apply."""
    from harness import migrate  # start-up: pglast
    from harness.migrate.rehearse import REHEARSAL_FILE
    from harness.plugins import seed_of

    config = settings(rehearse_max_block=max_block)
    migrations = migrate.load_migrations(migrations_dir(dir))
    target = dsn_or_environment(dsn)
    loader = seed_of(config, seed, "rehearse --seed").load if seed else None
    first = start if start is not None else run(migrate.starting_version(target, migrations))
    rehearsal = run(cancelled_on_sigterm(  # a terminated rehearsal still drops its scratch database
        migrate.rehearse_migrations(
            target, migrations, first, max_block=config.rehearse_max_block, query_timeout=config.hang_timeout,
            seed=loader, clients=clients, baseline=baseline, lock_timeout=lock_timeout,
            progress=lambda line: err.print(escape(line), highlight=False),
        )
    ))  # fmt: skip
    table = Table("migration", "outcome", "wall s", "longest lock wait s", "p95 before ms", "p95 during ms",
                  "slowest during ms", "errors before", "errors during")  # fmt: skip
    for m in rehearsal.migrations:
        times = [f"{ms:.1f}" if ms is not None else "" for ms in (m.before.p95_ms, m.during.p95_ms, m.during.max_ms)]
        errors = [f"{w.errors}/{w.queries}" for w in (m.before, m.during)]
        wait = f"{m.longest_lock_wait_s:.3f}"
        if rehearsal.blocked(m):
            wait = f"[red]{wait}[/red]"
        table.add_row(escape(m.label), m.outcome, f"{m.wall_s:.2f}", wait, *times, *errors)
    out.print(table)
    path = rehearsal.write(results if results is not None else Path("reports/local") / REHEARSAL_FILE)
    out.print(f"results: {path}", highlight=False)
    failures = rehearsal.failures()
    for reason in failures:
        err.print(f"[red]rehearsal failed:[/red] {escape(reason)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1 if failures else 0)


@migrate_app.command("drift")
def migrate_drift(dsn: Dsn = None, dir: Dir = None) -> None:
    """Compare the database with its applied migrations built afresh; exit 1 naming each difference."""
    from harness import migrate  # start-up: pglast
    from harness.migrate.drift import find_drift

    drift = run(find_drift(dsn_or_environment(dsn), migrate.load_migrations(migrations_dir(dir))))
    if drift.differences:
        out.print(
            f"drift: the database differs from its {drift.applied} applied migrations built afresh:", highlight=False
        )
        for line in drift.differences:
            out.print(escape(line), highlight=False, soft_wrap=True)
    else:
        out.print(f"no drift: the catalog is what its {drift.applied} applied migrations make", highlight=False)
    if drift.runtime_partitions:
        out.print(
            f"set aside: {len(drift.runtime_partitions)} partition(s) only one side has, made as time passes "
            f"(a job, a seed), not by a migration: {', '.join(drift.runtime_partitions)}",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    raise typer.Exit(1 if drift.differences else 0)


@migrate_app.command("generate")
def migrate_generate(name: str, dir: Dir = None) -> None:
    """Create the next-numbered up/down pair."""
    from harness import migrate  # start-up: pglast

    directory = migrations_dir(dir)
    up_path, down_path = migrate.generate_migration(directory, name)
    out.print(f"created {up_path}\ncreated {down_path}", highlight=False)


@migrate_app.command("lint")
def migrate_lint(dir: Dir = None) -> None:
    """Lint every migration with squawk, and every down for data it loses without
    `-- harness:loses-data <reason>`; exit 1 on any finding."""
    from harness import migrate  # start-up: pglast

    migrations = migrate.load_migrations(migrations_dir(dir))
    findings = migrate.lint_migrations(migrations) + migrate.lint_downs(migrations)
    for finding in findings:
        out.print(escape(str(finding)), highlight=False, soft_wrap=True)
    raise typer.Exit(1 if findings else 0)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def mutate(
    ctx: typer.Context,
    generated: Annotated[
        bool, typer.Option("--generated", help="the SQL and Redis mutants generated from the artifacts")
    ] = False,
    sql: Annotated[bool, typer.Option("--sql", help="the generated SQL mutants only")] = False,
    redis: Annotated[bool, typer.Option("--redis", help="the generated Redis mutants only")] = False,
    python: Annotated[bool, typer.Option("--python", help="the Python mutants mutmut generates")] = False,
    hand: Annotated[bool, typer.Option("--hand", help="the hand-written mutants (the default source)")] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="every source: hand, generated SQL and Redis, Python")
    ] = False,
    changed: Annotated[
        bool, typer.Option("--changed", help="only the objects the branch changed since --base")
    ] = False,
    base: Annotated[str, typer.Option(help="the git revision --changed compares with")] = "main",
    only: Annotated[list[str] | None, typer.Option(help="run only these mutants (repeatable)")] = None,
    list_only: Annotated[bool, typer.Option("--list", help="list the mutants and exit")] = False,
    slots: Annotated[int, typer.Option(min=1, max=8, help="generated sets: pytest sessions side by side")] = 3,
    sample: Annotated[
        float | None,
        typer.Option(min=0.001, max=1.0, help="Python set: run this fraction of it, chosen by hash (same every run)"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="hand set: seconds per suite run; a hang counts as caught")] = 600,
    min_score: Annotated[float, typer.Option(help="exit 1 when a source scores below this fraction")] = 0.0,
    run_dir: Annotated[Path, typer.Option(help="where mutation.json goes (read by `harness report`)")] = Path(
        "reports/local"
    ),
) -> None:
    """Judge mutants (plausible mistakes) with the suites; print the score per source and per suite
    folder, and the survivors. Extra arguments go to pytest for the hand set (e.g. `-- suites/schema`)."""
    from harness.mutate.sources import MutationRequest, list_mutants, run_mutation  # start-up: redis, pglast

    interrupt_on_sigterm()  # a terminated run still stops its slots, mutmut, and their servers

    chosen: dict[Source, bool] = {"hand": hand, "sql": sql or generated, "redis": redis or generated, "python": python}
    sources: list[Source] = ["hand", "sql", "redis", "python"] if everything else [s for s, on in chosen.items() if on]
    sources = sources or ["hand"]

    def progress(line: str) -> None:
        out.print(escape(line), highlight=False, soft_wrap=True)

    request = MutationRequest(
        Path.cwd(), settings(), sources, only or [], base if changed else None, slots, timeout, ctx.args, progress,
        python_sample=sample,
    )  # fmt: skip
    if list_only:
        for m in list_mutants(request):
            out.print(escape(f"{m.source:6} {m.id:60} {m.kind:12} {m.description}"), highlight=False, soft_wrap=True)
        return
    record = run_mutation(request)
    path = record.write(run_dir)
    show_mutation(record, request.notes)
    out.print(f"results: {path}", highlight=False)
    low = [name for name, ratio in record.ratios().items() if ratio is not None and ratio < min_score]
    raise typer.Exit(1 if low else 0)


def show_mutation(record: Any, notes: list[str]) -> None:
    """Per source, per suite folder, the survivors (with the suites that should have caught them)."""
    out.print(f"mutation score ({record.seconds:.0f} s):")
    for name, line in record.source_lines().items():
        out.print(escape(f"  {name:7} {line}"), highlight=False)
    out.print("per suite folder (killed / judged):")
    scores = record.folder_scores()
    width = max(map(len, scores), default=0)
    for folder, (killed, judged) in scores.items():
        share = f"{killed / judged:.0%}" if judged else "only equivalents or unchecked"  # a narrow --only
        out.print(escape(f"  {folder:{width}} {killed:4} / {judged:<4} ({share})"), highlight=False)
    for v in record.survivors():
        caught_by = ", ".join(v.should_catch) or "a suite"
        line = f"survivor: {v.source} {v.id} ({v.object}): {v.description} — should have been caught by {caught_by}"
        out.print(escape(line), highlight=False, soft_wrap=True)
    for v in record.verdicts:
        if v.status == "error":
            err.print(f"[yellow]error:[/yellow] {escape(f'{v.id}: {v.evidence}')}", highlight=False, soft_wrap=True)
    for note in [*record.notes, *notes]:
        err.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)


@app.command()
def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="a run's directory, e.g. reports/ci; or several shards' to merge", show_default=False),
    ],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="where the page goes (default: the one RUN_DIR; needed for several)")
    ] = None,
    baseline: Annotated[Path | None, typer.Option(help="committed baseline ratios to compare with")] = None,
    check: Annotated[
        bool,
        typer.Option(
            help="CI's gate: exit 1 on a failed test, a breached SLO, a ratio regressed beyond its tolerance, "
            "no benchmark results, or a missing or unreadable baseline (every reason, one line each)"
        ),
    ] = False,
    save_baseline: Annotated[Path | None, typer.Option(help="write this run's ratios as a baseline")] = None,
    insight_baseline: Annotated[
        Path | None,
        typer.Option(
            help="a baseline run's directory (or one insight.json): a statement grown slower or heavier regresses"
        ),
    ] = None,
) -> None:
    """Render RUN_DIR/index.html from its JUnit XML, benchmark JSON and Locust CSV; several RUN_DIRS
    (the shards of `pytest --harness-shard I/N`) merge into one page in --out."""
    from harness import report as reporting  # optional extra: report (matplotlib, jinja2)
    from harness.report.build import interval as interval_text
    from harness.report.build import ratio as ratio_text

    if out_dir is None and len(run_dirs) > 1:
        raise ConfigurationError(f"{len(run_dirs)} run directories merge into one page: name its directory with --out")
    run_dir = out_dir or run_dirs[0]
    built = reporting.build_report(run_dir, baseline, run_dirs, insight_baseline)
    page = reporting.write_report(built)
    if save_baseline is not None:
        if built.benchmarks is None:
            raise ResultsFileError(f"{run_dir}: no {reporting.BENCHMARK_FILE} to take a baseline from")
        reporting.save_baseline(built.benchmarks.ratios(), save_baseline)
        out.print(f"baseline written to {save_baseline}")
    for c in built.comparisons:  # one line each: CI logs are narrow
        value = "—" if c.value is None else ratio_text(c.value)
        against = "" if c.baseline is None else f"  (baseline {ratio_text(c.baseline)}"
        against += "" if c.change is None else f", {round(c.change * 100) + 0:+d}%)" if against else ""
        against += f"  95 % interval {interval_text(c.interval)}" if c.interval else ""
        colour = {"regressed": "red", "improved": "green"}.get(c.status, "default")
        out.print(
            f"{value:>8}  [{colour}]{c.status:9}[/{colour}] {escape(c.key)}{against}", highlight=False, soft_wrap=True
        )
    if built.benchmarks and not built.comparisons:
        for r in built.benchmarks.ratios():
            within = f"  95 % interval {interval_text(r.interval)}" if r.interval else ""
            out.print(
                f"{ratio_text(r.value):>8}  {escape(r.key)}  (vs {escape(r.baseline)}){within}",
                highlight=False,
                soft_wrap=True,
            )
    out.print(f"report: {page}")
    if built.baseline_problem is not None and not check:
        err.print(f"[yellow]warning:[/yellow] {escape(built.baseline_problem)}", highlight=False, soft_wrap=True)
    reasons = built.check_failures() if check else []
    for reason in reasons:
        err.print(f"[red]check failed:[/red] {escape(reason)}", highlight=False, soft_wrap=True)
    if reasons:
        raise typer.Exit(1)


@images_app.command("build")
def images_build(force: Annotated[bool, typer.Option(help="rebuild even if the images exist")] = False) -> None:
    """Build harness-local/pgvector and harness-local/redis with mmdebstrap and `docker import`."""
    script = Path(__file__).parent / "images" / "build.sh"
    result = subprocess.run(["bash", str(script), *(["--force"] if force else [])], env=os.environ, check=False)
    raise typer.Exit(result.returncode)


def add_plugin_commands() -> Exception | None:
    """The domain's commands (`harness seed`, …), added by the chosen plug-in once the engine's
    exist. Settings, the plug-in's too, are read here, at import, to choose it; an expected failure
    (a bad setting, several plug-ins and none chosen) is returned, for the error boundary to report
    when a command runs, instead of a traceback from the import (`--help` still works)."""
    try:
        settings = Settings()
        plugin = load_plugin(settings.plugin)
        if plugin is not None and plugin.commands is not None:
            plugin.commands(app)
        read_plugin_settings(settings)
    except Exception as exc:
        if explain(exc) is None:
            raise
        return exc
    return None


PLUGIN_PROBLEM = add_plugin_commands()


def main() -> None:
    app()
