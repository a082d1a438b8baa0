"""The generated sets end to end: generate (the catalog of a migrated template on a slot's servers,
the Redis artifacts), narrow (--only, --changed, the listed equivalents), judge (`campaign`), and
record the verdicts."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from harness.config import Settings
from harness.errors import ConfigurationError
from harness.isolation.run import prepare_run
from harness.mutate.campaign import Campaign, Limits
from harness.mutate.catalog_mutants import catalog_mutants
from harness.mutate.generated import GeneratedMutant, Source
from harness.mutate.queue import Channel
from harness.mutate.redis_mutants import redis_mutants
from harness.mutate.results import RunRecord, Verdict
from harness.mutate.selection import index_suites, matches
from harness.mutate.slots import SlotPool
from harness.plugins import load_plugin
from harness.provision import prepare_state_dir
from harness.provision.databases import create_database, drop_database

MIGRATIONS = "schema/postgres/migrations/"
REDIS_ARTIFACTS = ("redis_config", "redis_acl", "redis_keyspace")
REDIS_KINDS = {"redis.conf": "config", "users.acl": "acl", "keyspace.toml": "ttl"}


def plugin_equivalents() -> Path | None:
    """The plug-in's list of equivalent generated mutants (none without a plug-in)."""
    plugin = load_plugin(Settings().plugin)  # the settings of the working directory: the run's own
    return plugin.sql_equivalents if plugin is not None else None


def load_equivalents(path: Path | None) -> dict[str, str]:
    """Mutant id → why no test can tell it from the shipped artifacts."""
    if path is None:
        return {}
    try:
        listed = tomllib.loads(path.read_text()).get("equivalent", {})
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    for ident, reason in listed.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigurationError(f"{path}: equivalent mutant {ident} needs a reason")
    return dict(listed)


async def generate_sql_mutants(settings: Settings) -> list[GeneratedMutant]:
    """The catalog's mutants, read from a scratch clone of the template on `settings`' servers."""
    env, state = await prepare_run(settings)
    scratch = f"{state.template}_catalog_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(env.endpoints.postgres)
    try:
        await create_database(admin, scratch, state.template)
        try:
            return await catalog_mutants(env.endpoints.postgres_dsn(scratch))
        finally:
            await drop_database(admin, scratch)
    finally:
        await admin.close()
        await env.close()


def changed_objects(root: Path, base: str) -> tuple[list[str], str]:
    """(changed files, the added and removed lines of the changed migrations) since `base`."""
    names = git_lines(root, "diff", base, "--name-only")
    diff = git_lines(root, "diff", base, "--unified=0", "--", MIGRATIONS)
    lines = [line[1:] for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return names, "\n".join(lines)


def git_lines(root: Path, *args: str) -> list[str]:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise ConfigurationError(f"git {' '.join(args)}: {reason}")
    return done.stdout.splitlines()


def touched_by(mutant: GeneratedMutant, files: list[str], migration_text: str) -> bool:
    """Whether a branch that changed `files` (and these migration lines) touched the mutant's object."""
    if mutant.artifact is not None:
        return any(Path(f).name == name and REDIS_KINDS[name] == mutant.kind for f in files for name in REDIS_KINDS)
    words = re.sub(r"\[.*?\]", "", mutant.object).split(".")
    name = ".".join(words[1:] if len(words) > 1 else words)
    return bool(migration_text) and matches(migration_text, name)


@dataclass
class GeneratedRun:
    """One run of the generated sets: its options, and what it found."""

    root: Path
    settings: Settings
    sources: Sequence[Source] = ("sql", "redis")
    only: Sequence[str] = ()
    changed: str | None = None
    slots: int = 3  # measured on 2 cores: three sessions keep both busy while one waits on its servers
    test_timeout: float = 60.0
    limits: Limits = field(default_factory=Limits)
    progress: Callable[[str], None] = lambda line: None
    constrained: bool = False  # --only was given (for another source, perhaps): an empty `only` then means none
    paths: Sequence[str] = ("suites",)  # the judging tests: folders or files
    equivalents: Path | None = field(default_factory=plugin_equivalents)

    def generate(self) -> list[GeneratedMutant]:
        mutants: list[GeneratedMutant] = []
        if "sql" in self.sources:
            mutants += asyncio.run(generate_sql_mutants(self._slot_settings(0)))
        if "redis" in self.sources:
            mutants += redis_mutants(self.settings)
        return mutants

    def narrow(self, mutants: list[GeneratedMutant]) -> list[GeneratedMutant]:
        if self.only or self.constrained:
            unknown = sorted(set(self.only) - {m.id for m in mutants})
            if unknown:
                raise ConfigurationError(f"unknown mutant(s) {', '.join(unknown)}; see `harness mutate --list`")
            mutants = [m for m in mutants if m.id in self.only]
        if self.changed is not None:
            files, text = changed_objects(self.root, self.changed)
            mutants = [m for m in mutants if touched_by(m, files, text)]
        return mutants

    def generate_once(self) -> list[GeneratedMutant]:
        """Generate on servers of the call's own, removed afterwards (for --list)."""
        self._make_run_dir()
        try:
            return self.generate()
        finally:
            SlotPool(self.root, self.run_dir, 1, self.test_timeout).remove_servers()

    def _slot_settings(self, slot: int) -> Settings:
        return self.settings.model_copy(
            update={"reuse": True, "keep": False, "backend": "embedded", "state_dir": self.run_dir / f"slot-{slot}"}
        )

    def _branch_touches_artifacts(self, base: str) -> bool:
        """Whether the branch changed anything generated mutants come from (else no servers are started)."""
        files, migration_text = changed_objects(self.root, base)
        return bool(migration_text) or any(Path(f).name in REDIS_KINDS for f in files)

    def _make_run_dir(self) -> None:
        """The run's directory, below a state directory as private as every other command makes it."""
        prepare_state_dir(self.settings.state_dir)
        self.run_dir.mkdir(exist_ok=True)
        self.run_dir.chmod(0o711)  # the embedded servers run as `nobody` below it when we are root

    @property
    def run_dir(self) -> Path:
        return self.settings.state_dir / f"mutate-{os.getpid()}"

    def run(self, mutants: list[GeneratedMutant] | None = None) -> RunRecord:
        """Generate (unless given), narrow, and judge; the listed equivalents are counted, not run."""
        started, clock = datetime.now(UTC), time.monotonic()
        if mutants is None and self.changed is not None and not self._branch_touches_artifacts(self.changed):
            note = f"nothing to judge: no migration and no Redis artifact changed since {self.changed}"
            return RunRecord(command="", started=started.isoformat(timespec="seconds"), seconds=0.0, slots=self.slots,
                             verdicts=[], excluded=[], notes=[note], phases={})  # fmt: skip
        self._make_run_dir()
        pool = SlotPool(
            self.root, self.run_dir, self.slots, self.test_timeout, self.paths, self.settings.mutate_not_judges
        )
        try:
            pool.start()  # the slots collect while the catalog is read
            mutants = self.narrow(self.generate() if mutants is None else mutants)
            equivalents = load_equivalents(self.equivalents)
            listed = [m for m in mutants if m.id in equivalents]
            judged = [m for m in mutants if m.id not in equivalents]
            artifacts = self.run_dir / "artifacts"
            artifacts.mkdir(exist_ok=True)
            bases = {field: getattr(self.settings, field).read_text() for field in REDIS_ARTIFACTS
                     if getattr(self.settings, field).is_file()}  # fmt: skip
            index = index_suites(
                self.root, self.paths, self.settings.mutate_not_judges, self.settings.mutate_kind_folders
            )
            campaign = Campaign(pool, index, artifacts, bases, self.limits, self._report, self.progress)
            channels: list[Channel] = sorted({Campaign.channel([m]) for m in judged})
            excluded = campaign.baseline(channels) if judged else []
            for nodeid in excluded:
                self.progress(f"excluded (fails without any mutant): {nodeid}")
            verdicts = campaign.judge(judged) if judged else []
            phases = campaign.phases
        finally:
            pool.close()
        verdicts += [
            Verdict(
                m.id,
                m.source,
                m.kind,
                m.object,
                m.description,
                "equivalent",
                evidence=equivalents[m.id],
                phase="listed",
            )
            for m in listed
        ]
        whole = not (self.only or self.constrained or self.changed)
        kinds = {m.kind for m in mutants}  # a listed id of a set not run this time is not stale
        stale = (
            sorted(i for i in set(equivalents) - {m.id for m in mutants} if i.split(":")[0] in kinds) if whole else []
        )
        notes = [f"listed as equivalent but not generated (remove it): {ident}" for ident in stale]
        if self.changed is not None and not mutants:
            notes.append(f"nothing to judge: no generated object changed since {self.changed}")
        return RunRecord(
            command="", started=started.isoformat(timespec="seconds"), seconds=time.monotonic() - clock,
            slots=self.slots, verdicts=verdicts, excluded=excluded, notes=notes, phases=phases,
        )  # fmt: skip

    def _report(self, verdict: Verdict) -> None:
        mark = {"killed": "killed", "survived": "SURVIVED", "error": "ERROR"}.get(verdict.status, verdict.status)
        self.progress(f"{mark:9} {verdict.id}  {verdict.evidence[:100]}")
