"""What a mutation run found, per mutant, and the scores it adds up to: per source (hand, sql,
redis, python), per kind, and per suite folder (of the mutants a folder judged, how many it killed).
Written as `mutation.json` for `harness report`, whose reader (harness.report.mutation) reads the
same shape without importing this module."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["killed", "survived", "equivalent", "error"]
RESULTS_FILE = "mutation.json"


@dataclass
class Verdict:
    """One mutant's fate. `judged`: folder → whether it killed the mutant (a folder that did not
    run all its selected tests before another folder killed it did not judge). `should_catch`:
    the folders whose tests mention the object (or its kind's folder), named for a survivor."""

    id: str
    source: str
    kind: str
    object: str
    description: str
    status: Status
    evidence: str = ""
    killed_by: list[str] = field(default_factory=list)
    judged: dict[str, bool] = field(default_factory=dict)
    should_catch: list[str] = field(default_factory=list)
    phase: str = ""  # selection | confirmation | start-up | listed
    seconds: float = 0.0


@dataclass(frozen=True)
class Score:
    killed: int
    survived: int
    equivalent: int
    errors: int

    @property
    def judged(self) -> int:
        return self.killed + self.survived

    @property
    def ratio(self) -> float | None:
        return self.killed / self.judged if self.judged else None

    def text(self) -> str:
        ratio = "—" if self.ratio is None else f"{self.ratio:.0%}"
        extra = f", {self.equivalent} equivalent" if self.equivalent else ""
        extra += f", {self.errors} errors" if self.errors else ""
        return f"{self.killed}/{self.judged} killed ({ratio}){extra}"


def score(verdicts: list[Verdict]) -> Score:
    counts = Counter(v.status for v in verdicts)
    return Score(counts["killed"], counts["survived"], counts["equivalent"], counts["error"])


def by(verdicts: list[Verdict], attribute: str) -> dict[str, Score]:
    groups: dict[str, list[Verdict]] = {}
    for v in verdicts:
        groups.setdefault(getattr(v, attribute), []).append(v)
    return {name: score(group) for name, group in sorted(groups.items())}


def by_folder(verdicts: list[Verdict]) -> dict[str, tuple[int, int]]:
    """Folder → (mutants it killed, mutants it judged)."""
    killed: Counter[str] = Counter()
    judged: Counter[str] = Counter()
    for v in verdicts:
        if v.status not in ("killed", "survived"):
            continue
        for folder, caught in v.judged.items():
            judged[folder] += 1
            killed[folder] += caught
    return {folder: (killed[folder], judged[folder]) for folder in sorted(judged)}


@dataclass
class RunRecord:
    command: str
    started: str
    seconds: float
    slots: int
    verdicts: list[Verdict]
    excluded: list[str] = field(default_factory=list)  # tests failing without any mutant
    phases: dict[str, float] = field(default_factory=dict)  # phase → wall seconds
    python: dict[str, Any] | None = None  # the Python set's summary (harness.mutate.python), when run
    notes: list[str] = field(default_factory=list)

    def python_score(self) -> Score | None:
        if not self.python:
            return None
        total = self.python["total"]
        killed, judged = int(total["killed"]), int(total["judged"])
        return Score(killed, judged - killed, int(total.get("equivalent", 0)), 0)

    def scores(self) -> dict[str, Score]:
        """Per source, the Python set's included."""
        found = by(self.verdicts, "source")
        python = self.python_score()
        return found | ({"python": python} if python is not None else {})

    def source_lines(self) -> dict[str, str]:
        lines = {name: s.text() for name, s in self.scores().items()}
        sample = (self.python or {}).get("sample")
        if sample and "python" in lines:
            low, high = sample["interval"]
            lines["python"] += (f" in a sample of {sample['sampled']} of {sample['generated']}"
                                f" (95 % interval {low:.0%} to {high:.0%})")  # fmt: skip
        return lines

    def ratios(self) -> dict[str, float | None]:
        return {name: s.ratio for name, s in self.scores().items()}

    def folder_scores(self) -> dict[str, tuple[int, int]]:
        """Folder → (killed, judged), over every source."""
        folders = by_folder(self.verdicts)
        for name, tally in (self.python or {}).get("by_folder", {}).items():
            killed, judged = folders.get(name, (0, 0))
            folders[name] = (killed + int(tally["killed"]), judged + int(tally["judged"]))
        return dict(sorted(folders.items()))

    def survivors(self) -> list[Verdict]:
        found = [v for v in self.verdicts if v.status == "survived"]
        for m in (self.python or {}).get("survivors", []):
            folders = sorted({t.partition("::")[0].rpartition("/")[0] for t in m.get("tests", [])})
            where = f"{m['path']}:{m.get('line') or '?'}"
            found.append(Verdict(m["name"], "python", "python", where, m.get("change", "").replace("\n", " "),
                                 "survived", should_catch=folders))  # fmt: skip
        return found

    def to_json(self) -> str:
        verdicts = self.verdicts
        summary = {
            "sources": {name: asdict(s) for name, s in by(verdicts, "source").items()},
            "kinds": {name: asdict(s) for name, s in by(verdicts, "kind").items()},
            "folders": {name: {"killed": k, "judged": j} for name, (k, j) in by_folder(verdicts).items()},
        }
        return json.dumps({**asdict(self), "summary": summary}, indent=1)

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / RESULTS_FILE
        path.write_text(self.to_json())
        return path
