"""`mutation.json` (written by `harness mutate`) read for the report: the score per source, per
kind and per suite folder, and the survivors with the suites that should have caught them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ResultsFileError

MUTATION_FILE = "mutation.json"


@dataclass(frozen=True)
class Score:
    name: str
    killed: int
    judged: int
    equivalent: int = 0
    errors: int = 0

    @property
    def ratio(self) -> float | None:
        return self.killed / self.judged if self.judged else None


@dataclass(frozen=True)
class Survivor:
    source: str
    id: str
    object: str
    description: str
    should_catch: list[str]


@dataclass
class MutationRun:
    command: str
    seconds: float
    sources: list[Score] = field(default_factory=list)
    kinds: list[Score] = field(default_factory=list)
    folders: list[Score] = field(default_factory=list)
    survivors: list[Survivor] = field(default_factory=list)
    equivalents: list[tuple[str, str]] = field(default_factory=list)  # id, reason
    excluded: list[str] = field(default_factory=list)

    @property
    def total(self) -> Score:
        return Score(
            "all", sum(s.killed for s in self.sources), sum(s.judged for s in self.sources),
            sum(s.equivalent for s in self.sources), sum(s.errors for s in self.sources),
        )  # fmt: skip


def _scores(table: dict[str, dict[str, Any]]) -> list[Score]:
    return [
        Score(name, int(s["killed"]), int(s["killed"]) + int(s["survived"]), int(s["equivalent"]), int(s["errors"]))
        for name, s in table.items()
    ]


def load_mutation(path: Path) -> MutationRun:
    try:
        data = json.loads(path.read_text())
        summary = data["summary"]
        run = MutationRun(str(data.get("command", "")), float(data.get("seconds", 0.0)))
        run.sources = _scores(summary["sources"])
        run.kinds = _scores(summary["kinds"])
        run.folders = [Score(name, int(f["killed"]), int(f["judged"])) for name, f in summary["folders"].items()]
        for v in data["verdicts"]:
            if v["status"] == "survived":
                run.survivors.append(Survivor(v["source"], v["id"], v["object"], v["description"], v["should_catch"]))
            elif v["status"] == "equivalent":
                run.equivalents.append((v["id"], v["evidence"]))
        run.excluded = list(data.get("excluded", []))
        if data.get("python"):
            _add_python(run, data["python"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ResultsFileError(f"{path}: not a mutation results file ({type(exc).__name__}: {exc})") from exc
    return run


def _add_python(run: MutationRun, python: dict[str, Any]) -> None:
    """The Python set's summary (mutmut's, as harness.mutate.python writes it)."""
    total = python["total"]
    run.sources.append(Score("python", int(total["killed"]), int(total["judged"]), int(total["equivalent"])))
    known = {f.name: f for f in run.folders}
    for name, tally in python.get("by_folder", {}).items():
        before = known.get(name, Score(name, 0, 0))
        known[name] = Score(name, before.killed + int(tally["killed"]), before.judged + int(tally["judged"]))
    run.folders = sorted(known.values(), key=lambda f: f.name)
    for m in python.get("survivors", []):
        where = f"{m['path']}:{m.get('line') or '?'}"
        folders = sorted({t.partition("::")[0].rpartition("/")[0] for t in m.get("tests", [])})
        run.survivors.append(Survivor("python", m["name"], where, m.get("change", ""), folders))
