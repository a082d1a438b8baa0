"""`harness mutate`'s library side: the four sources of mutants (hand, sql, redis, python) run and
recorded together, for the CLI to print and `harness report` to show."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import Settings
from harness.errors import ConfigurationError
from harness.mutate.generated import Source
from harness.mutate.python import run_python_mutants
from harness.mutate.results import RunRecord, Verdict
from harness.mutate.runner import Mutant, Outcome, mutate
from harness.mutate.sets import GeneratedRun, git_lines
from harness.plugins import load_plugin

GENERATED: tuple[Source, ...] = ("sql", "redis")


@dataclass(frozen=True)
class Listed:
    source: str
    id: str
    kind: str
    description: str


@dataclass
class MutationRequest:
    """What to run: the sources, narrowed to `only` ids and to what `changed` (a git base) touched."""

    root: Path
    settings: Settings
    sources: Sequence[Source] = ("hand",)
    only: Sequence[str] = ()
    changed: str | None = None
    slots: int = 3
    hand_timeout: float = 600.0
    pytest_args: Sequence[str] = ()
    progress: Callable[[str], None] = lambda line: None
    notes: list[str] = field(default_factory=list)
    python_sample: float | None = None  # the fraction of the Python set to run (hash-chosen)

    def generated_run(self) -> GeneratedRun:
        return GeneratedRun(
            self.root, self.settings, [s for s in self.sources if s in GENERATED], self.only_of(GENERATED),
            self.changed, self.slots, progress=self.progress, constrained=bool(self.only),
            paths=[a for a in self.pytest_args if not a.startswith("-")] or ["suites"],
        )  # fmt: skip

    def only_of(self, sources: Sequence[Source]) -> list[str]:
        """The --only ids of `sources`: a hand mutant's id has no colon, a generated one's has, a
        Python one is mutmut's name (`pkg.module.x_function__mutmut_7`) or a glob of them."""
        if "python" in sources:
            return [i for i in self.only if is_python_name(i)]
        generated = any(s in GENERATED for s in sources)
        return [i for i in self.only if (":" in i) == generated and not is_python_name(i)]

    def hand_mutants(self) -> list[Mutant]:
        """The plug-in's catalogue (none without a plug-in), narrowed."""
        plugin = load_plugin(self.settings.plugin)
        catalogue = list(plugin.mutants) if plugin is not None else []
        chosen = catalogue
        if self.only:
            only = self.only_of(("hand",))
            unknown = sorted(set(only) - {m.id for m in catalogue})
            if unknown:
                raise ConfigurationError(f"unknown mutant(s) {', '.join(unknown)}; see `harness mutate --list`")
            chosen = [m for m in chosen if m.id in only]
        if self.changed is not None:
            changed = set(git_lines(self.root, "diff", self.changed, "--name-only"))
            chosen = [m for m in chosen if m.path in changed]
        return chosen


def is_python_name(ident: str) -> bool:
    return "__mutmut_" in ident or ident.endswith("*")


def list_mutants(request: MutationRequest) -> list[Listed]:
    listed = []
    if "hand" in request.sources:
        listed += [Listed("hand", m.id, m.kind, m.description) for m in request.hand_mutants()]
    if any(s in GENERATED for s in request.sources):
        run = request.generated_run()
        listed += [Listed(m.source, m.id, m.kind, m.description) for m in run.narrow(run.generate_once())]
    return listed


def hand_verdict(outcome: Outcome) -> Verdict:
    m = outcome.mutant
    assert m is not None
    failing = outcome.evidence.removeprefix("FAILED ").removeprefix("ERROR ").split(" ")[0]
    folder = failing.split("::")[0].rpartition("/")[0] if "::" in failing else ""
    return Verdict(
        m.id, "hand", m.kind, m.path, m.description, "killed" if outcome.killed else "survived",
        evidence=outcome.evidence, killed_by=[failing] if outcome.killed and folder else [],
        judged={folder: True} if outcome.killed and folder else {}, phase="whole suite", seconds=outcome.seconds,
    )  # fmt: skip


def run_mutation(request: MutationRequest) -> RunRecord:
    """Every requested source, one after another, into one record."""
    record = RunRecord(command=shlex.join(["harness", "mutate", *sys.argv[2:]]), started="", seconds=0.0,
                       slots=request.slots, verdicts=[])  # fmt: skip
    if any(s in GENERATED for s in request.sources):
        generated = request.generated_run().run()
        record.started, record.verdicts = generated.started, generated.verdicts
        record.seconds += generated.seconds
        record.excluded, record.notes, record.phases = generated.excluded, generated.notes, generated.phases
    if "hand" in request.sources:
        chosen = request.hand_mutants()

        def show(o: Outcome) -> None:
            state = "baseline" if o.mutant is None else ("killed" if o.killed else "SURVIVED")
            request.progress(f"{state:9} {o.name}  {o.evidence[:100]}")

        not_judges = request.settings.mutate_not_judges
        outcomes = (
            mutate(request.root, chosen, request.pytest_args, request.hand_timeout, show, not_judges) if chosen else []
        )
        record.verdicts += [hand_verdict(o) for o in outcomes]
        record.seconds += sum(o.seconds for o in outcomes)
    if "python" in request.sources:
        record.python = run_python(request)
    return record


def run_python(request: MutationRequest) -> dict[str, Any] | None:
    """The Python set, by mutmut (`harness.mutate.python`); only changed files' mutants with --changed."""
    names = request.only_of(("python",))
    if request.only and not names:
        return None  # --only named no Python mutant
    if request.changed is not None:
        changed = git_lines(request.root, "diff", request.changed, "--name-only")
        names = [f"{module_of(request.root, p)}.*" for p in changed if p.endswith(".py")]
        if not names:
            request.notes.append("the Python set was skipped: the branch changed no Python file")
            return None
    score = run_python_mutants(request.root, names, max_children=request.slots, sample=request.python_sample)
    summary: dict[str, Any] = score.as_dict()
    return summary


def module_of(root: Path, path: str) -> str:
    """The module `path` (a .py file under `root`) is imported as, which is what mutmut names its
    mutants by: its path from the first folder up that is not a package (`plugins/shop/shop_db/data/x.py`
    is `shop_db.data.x`)."""
    parts = Path(path).with_suffix("").parts
    start = len(parts) - 1
    while start > 0 and (root.joinpath(*parts[:start]) / "__init__.py").is_file():
        start -= 1
    return ".".join(parts[start:])
