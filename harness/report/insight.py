"""A run's `insight*.json` (harness.insight's captures) read for the page, and compared with a
baseline run's: a statement, matched by its normalised text, whose mean time or shared blocks
per call grew beyond the tolerance is a regression in the verdict.

The growth tolerated is TOLERANCE unless the baseline file says otherwise: a committed baseline of
a short, noisy run (scripts/bench.sh --quick's Locust run) carries its own, as
`"tolerances": {"mean time": 3.0, "shared blocks per call": 1.0}` beside the capture.

Small statements are left out of the comparison (a 0.02 ms statement's mean doubles on a busy
machine): a mean must reach MIN_MEAN_MS, blocks per call MIN_BLOCKS, on either side, and both
sides must have MIN_CALLS calls (a function's first calls read the catalog: 7 calls of one took
255 blocks each where 35 took 71, and one slow call is a mean of two calls' luck). Blocks are
the steadier witness: an index dropped turns 4 blocks a call into the whole table's. Because of
that fixed cost, a run that made fewer calls than its baseline (a busy machine's short Locust run:
15 calls against 40, 2,356 blocks against 2,544 in all) may show up to baseline calls / calls
times the blocks per call with no call costing more; the tolerance applies on top of that.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pglast.parser

from harness.errors import ResultsFileError

TOLERANCE = 0.5  # growth allowed: +50 %
MEASURES = ("mean time", "shared blocks per call")
MIN_MEAN_MS = 1.0
MIN_BLOCKS = 8.0
MIN_CALLS = 10
LARGE_SEQ_READ = 10_000  # rows a table's sequential scans read before it is listed
SHOWN = 10
PLAN_CONDITIONS = ("Index Cond", "Filter", "Hash Cond", "Join Filter", "Recheck Cond", "Sort Key")


@dataclass(frozen=True)
class StatementChange:
    query: str
    what: str  # one of MEASURES
    value: float
    baseline: float
    tolerance: float = TOLERANCE

    @property
    def growth(self) -> float:
        return self.value / self.baseline - 1 if self.baseline else float("inf")

    def describe(self) -> str:
        unit = " ms" if self.what == "mean time" else ""
        return (f"{self.what} {self.baseline:.4g}{unit} → {self.value:.4g}{unit} ({self.growth:+.0%}, tolerance "
                f"{self.tolerance:.0%}): {self.query[:160]}")  # fmt: skip


@dataclass
class Capture:
    source: str  # the file, relative to the run directory
    document: dict[str, Any]
    baseline_source: str | None = None
    regressions: list[StatementChange] = field(default_factory=list)

    @property
    def servers(self) -> list[dict[str, Any]]:
        return list(self.document.get("postgres", []))

    @property
    def redis(self) -> dict[str, Any]:
        return dict(self.document.get("redis", {}))

    def top_statements(self, server: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """The statements of most total time, each with the slowest plan auto_explain caught of it."""
        plans: dict[str, dict[str, Any]] = {}
        for plan in server.get("plans", []):
            plans.setdefault(_as_counted(plan["query"]), plan)
        return [(s, plans.get(s["query"])) for s in server.get("statements", [])[:SHOWN]]

    def seq_scanned(self, server: dict[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
        """Tables whose sequential scans read at least LARGE_SEQ_READ rows, most first, each with
        the caught statements whose plans scanned it sequentially."""
        tables = sorted((t for t in server.get("tables", []) if t["seq_tup_read"] >= LARGE_SEQ_READ),
                        key=lambda t: -t["seq_tup_read"])  # fmt: skip
        found = []
        for table in tables[:SHOWN]:
            name = table["name"].rpartition(".")[2]
            queries = {p["query"] for p in server.get("plans", []) if name in _seq_scanned_relations(p["plan"])}
            found.append((table, sorted(queries)))
        return found

    def unused_indexes(self, server: dict[str, Any]) -> list[dict[str, Any]]:
        return sorted((i for i in server.get("indexes", []) if i["idx_scan"] == 0), key=lambda i: i["name"])


def plan_tree(node: dict[str, Any], depth: int = 0) -> list[str]:
    """An auto_explain JSON plan as EXPLAIN's text reads, one line a node, indented by depth: what
    ran on which relation, its actual rows and loops, and the blocks it touched."""
    what = str(node.get("Node Type", "?"))
    if on := node.get("Relation Name") or node.get("Function Name"):
        what += f" on {on}"
    if node.get("Index Name"):
        what += f" using {node['Index Name']}"
    figures = [f"rows={node['Actual Rows']:g}" if "Actual Rows" in node else "",
               f"loops={node['Actual Loops']}" if "Actual Loops" in node else "",
               f"shared hit={node.get('Shared Hit Blocks', 0)} read={node.get('Shared Read Blocks', 0)}"]  # fmt: skip
    condition = next((f"{key}: {node[key]}" for key in PLAN_CONDITIONS if key in node), "")
    line = "  " * depth + ("-> " if depth else "") + what + f"  ({' '.join(f for f in figures if f)})"
    lines = [line + (f"  {condition}" if condition else "")]
    for child in node.get("Plans", []):
        lines += plan_tree(child, depth + 1)
    return lines


def _as_counted(query: str) -> str:
    """A caught plan's text as pg_stat_statements counts its statement: constants as $n
    (libpg_query's normalize follows the same rules), whitespace collapsed."""
    with contextlib.suppress(pglast.parser.ParseError):  # a text libpg_query cannot read is matched as it stands
        query = pglast.parser.normalize(query)
    return " ".join(query.split())


def _seq_scanned_relations(node: dict[str, Any]) -> set[str]:
    found = {str(node["Relation Name"])} if node.get("Node Type") == "Seq Scan" and "Relation Name" in node else set()
    for child in node.get("Plans", []):
        found |= _seq_scanned_relations(child)
    return found


def read_capture(path: Path, source: str) -> Capture:
    try:
        document = json.loads(path.read_text())
        if not isinstance(document, dict) or "postgres" not in document:
            raise ValueError("no postgres captures")
        tolerances(document)
    except (OSError, ValueError) as exc:
        raise ResultsFileError(f"{path}: not an insight file ({type(exc).__name__}: {exc})") from None
    return Capture(source, document)


def load_insight(run_dir: Path, baseline: Path | None = None) -> list[Capture]:
    """Every `insight*.json` below `run_dir`, compared with `baseline`: a run directory (its capture
    of the same relative path) or one file (compared with every capture)."""
    captures = [read_capture(p, str(p.relative_to(run_dir))) for p in sorted(run_dir.rglob("insight*.json"))]
    for capture in captures:
        known = baseline / capture.source if baseline is not None and baseline.is_dir() else baseline
        if known is None or not known.is_file():
            continue
        capture.baseline_source = str(known)
        capture.regressions = regressions(capture.document, read_capture(known, str(known)).document)
    return captures


def tolerances(baseline: dict[str, Any]) -> dict[str, float]:
    """The growth tolerated per measure: TOLERANCE, or what the baseline's `tolerances` says."""
    given = baseline.get("tolerances", {})
    if not isinstance(given, dict) or not set(given) <= set(MEASURES):
        raise ValueError(f"tolerances must map some of {', '.join(MEASURES)} to a growth, not {given!r}")
    if not all(isinstance(v, int | float) and v >= 0 for v in given.values()):
        raise ValueError(f"a tolerance is a growth of 0 or more (0.5: +50 %), not {given!r}")
    return dict.fromkeys(MEASURES, TOLERANCE) | {k: float(v) for k, v in given.items()}


def regressions(run: dict[str, Any], baseline: dict[str, Any]) -> list[StatementChange]:
    """Statements of each server (in order) whose mean time or blocks per call grew beyond the
    baseline's tolerances."""
    allowed = tolerances(baseline)
    found = []
    for now, before in zip(run.get("postgres", []), baseline.get("postgres", []), strict=False):
        known = {s["query"]: s for s in before.get("statements", [])}
        for statement in now.get("statements", []):
            old = known.get(statement["query"])
            if old is None or min(statement["calls"], old["calls"]) < MIN_CALLS:
                continue
            fewer_calls = max(1.0, old["calls"] / statement["calls"])
            for what, value, was, floor, fixed_cost in (
                ("mean time", statement["mean_ms"], old["mean_ms"], MIN_MEAN_MS, 1.0),
                ("shared blocks per call", _blocks(statement), _blocks(old), MIN_BLOCKS, fewer_calls),
            ):
                if max(value, was) >= floor and value > was * fixed_cost * (1 + allowed[what]):
                    found.append(StatementChange(statement["query"], what, value, was, allowed[what]))
    return found


def _blocks(statement: dict[str, Any]) -> float:
    return float(statement["shared_blks_hit"] + statement["shared_blks_read"]) / float(statement["calls"])
