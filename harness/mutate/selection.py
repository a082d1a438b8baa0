"""Which tests are asked to judge a mutant first: a map from the object's names to the tests that
mention them, built from the suites' source (no run needed).

A test's text is its own source (decorators and parameters included) plus the module-level
helpers it calls; a file's text is the whole module. A mention `table.column` matches text that
holds both words; a bare name matches the word. First come the tests that compare the kind's
objects with the catalog (cheap, and they catch the most), then the tests whose own text matches,
then the other tests of files that match, then, for privileges and policies, the tests of the
kind's own folder that name the table. Whatever this map misses, the confirmation with the whole suite
(`campaign`) still judges.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from harness.mutate.generated import GeneratedMutant

SUITES = "suites"


# words of the tests that compare a kind's objects with the catalog: cheap, and they catch the
# most, so they are asked first
KIND_KEYWORDS = {
    "grant": ("privilege", "relacl", "attacl", "aclexplode"), "revoke": ("privilege", "relacl", "attacl", "aclexplode"),
    "policy": ("pg_policy", "pg_policies", "relrowsecurity"), "row-security": ("pg_policy", "relrowsecurity"),
    "function": ("prosecdef", "proconfig", "proacl", "search_path"),
    "check": ("pg_constraint", "contype"), "not-null": ("attnotnull", "is_nullable"),
    "default": ("pg_attrdef", "column_default"), "unique": ("pg_constraint", "pg_index", "indisunique"),
    "foreign-key": ("pg_constraint", "confdeltype"), "trigger": ("pg_trigger", "tgtype"),
    "index": ("pg_index", "pg_indexes", "indexdef"),
}  # fmt: skip


MIGRATES = re.compile(r"\brollback_migrations\(")
READS_REDIS_ARTIFACTS = re.compile(
    r"\b(private_environment|faults|redis_keyspace|redis_config|redis_acl|load_keyspace)\b"
)


@dataclass(frozen=True)
class IndexedTest:
    nodeid: str  # without parameters: every parametrized case of the function
    text: str


@dataclass
class SuiteIndex:
    """The suites' tests, their text, and once a baseline has run, the words of the SQL each ran
    and how long it took: the map from an object to the tests asked to judge it first."""

    files: dict[str, str]  # path relative to the root → module text
    tests: dict[str, list[IndexedTest]]  # path → its tests
    traces: dict[str, frozenset[str]] = field(default_factory=dict)  # node id → words of its SQL
    seconds: dict[str, float] = field(default_factory=dict)  # node id → duration at the baseline
    budget: float = 3.0  # seconds of tests asked first; the rest judge at the confirmation
    # the folder each kind of mistake belongs to (Settings.mutate_kind_folders), asked after the
    # tests that mention the object
    kind_folders: dict[str, str] = field(default_factory=dict)

    def kind_folder(self, kind: str) -> str | None:
        return self.kind_folders.get(kind, self.kind_folders.get("default"))

    def migrators(self) -> list[str]:
        """Tests that run the migrations over the template's clone (a down, then up again). Over a
        mutated template they fail because the catalog is not what the downs expect, whatever the
        mistake: a post-migration statement is not theirs to judge."""
        return [t.nodeid for tests in self.tests.values() for t in tests if MIGRATES.search(t.text)]

    def redis_readers(self) -> list[str]:
        """Tests that start servers of their own (with the settings' Redis artifacts) or read an artifact."""
        return [t.nodeid for tests in self.tests.values() for t in tests if READS_REDIS_ARTIFACTS.search(t.text)]

    def learn(self, traces: dict[str, list[str]], seconds: dict[str, float]) -> None:
        self.traces.update({nodeid: frozenset(words) for nodeid, words in traces.items()})
        self.seconds.update(seconds)

    def relevant(self, mutant: GeneratedMutant) -> dict[str, int]:
        """Every test that mentions the object (node id → rank, lower first): the catalog checks of
        its kind, then by the first of its mentions that the test's source or SQL holds, then the
        kind's folder."""
        ranks: dict[str, int] = {}

        def rank(nodeid: str, value: int) -> None:
            ranks[nodeid] = min(value, ranks.get(nodeid, value))

        keywords = KIND_KEYWORDS.get(mutant.kind, ())
        for path, tests in self.tests.items():
            mentioned = any(matches(self.files[path], m) for m in mutant.mentions)
            for test in tests:
                if any(k in test.text for k in keywords):
                    rank(test.nodeid, 0)
                if mentioned:
                    for position, m in enumerate(mutant.mentions):
                        if matches(test.text, m):
                            rank(test.nodeid, 1 + position)
                            break
        for nodeid, words in self.traces.items():
            for position, m in enumerate(mutant.mentions):
                if all(part.lower() in words for part in m.split(".")):
                    rank(nodeid, 1 + position)
                    break
        folder = self.kind_folders.get(mutant.kind)
        if folder is not None:
            scope = [m for m in mutant.mentions if "." not in m][-1:] or [mutant.object.split(".")[-1]]
            for path, tests in self.tests.items():
                if path.startswith(folder + "/") and any(matches(self.files[path], m) for m in scope):
                    for test in tests:
                        rank(test.nodeid, 100)
        return ranks

    def select(self, mutant: GeneratedMutant) -> list[str]:
        """The relevant tests, most specific and quickest first, within the time budget (at least one)."""
        ranks = self.relevant(mutant)
        # before a baseline, function ids; after it, the parametrized ids it ran
        known = self.seconds or ranks
        exact = {nodeid: r for nodeid in known if (r := self.rank(ranks, nodeid, mutant.object)) is not None}
        ordered = sorted(exact, key=lambda nodeid: (*exact[nodeid], self.seconds.get(nodeid, 0.5)))
        return self.within(ordered, self.budget)

    def rank(self, ranks: dict[str, int], nodeid: str, obj: str) -> tuple[int, int] | None:
        """A test's place in the queue for a mutant of `obj`: its rank (of `relevant`, by function
        id or parametrized id), then how its case relates to the object (`affinity`). A case that
        names the object itself (`test_checks_refuse[<the check>]`) comes before everything, one
        that names its table before the function's other cases."""
        affinity = case_affinity(nodeid, obj)
        if affinity == 0:
            return (-1, 0)
        value = ranks.get(nodeid, ranks.get(nodeid.partition("[")[0]))
        if value is None and affinity == 1:
            value = 100  # a case about the object's table that its text does not name
        return None if value is None else (value, affinity)

    def within(self, ordered: list[str], budget: float) -> list[str]:
        """`ordered`, in order, skipping what would overrun `budget` seconds of the baseline (at least one)."""
        chosen: list[str] = []
        spent = 0.0
        for nodeid in ordered:
            cost = self.seconds.get(nodeid, 0.5)
            if chosen and spent + cost > budget:
                continue
            chosen.append(nodeid)
            spent += cost
        return chosen


def case_affinity(nodeid: str, obj: str) -> int:
    """How a parametrized case's ids relate to a mutant's object: 0 one is the object itself, 1 one
    names its table (or something of it), 2 none is a qualified name (or there are no cases), 3
    each qualified one names another table (the case is about something else)."""
    parameters = nodeid.partition("[")[2].rstrip("]")
    names = [p for p in parameters.split("-") if "." in p] if parameters else []
    if obj in parameters.split("-"):
        return 0
    if not names:
        return 2
    own = re.sub(r"\[.*?\]", "", obj).split(".")
    for name in names:
        parts = name.split(".")
        depth = min(2, len(parts), len(own))
        if parts[:depth] == own[:depth]:
            return 1
    return 3


def matches(text: str, mention: str) -> bool:
    return all(_word(part).search(text) for part in mention.split("."))


@cache
def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", re.IGNORECASE)


def index_suites(
    root: Path,
    paths: Sequence[str] = (SUITES,),
    not_judges: Sequence[str] = (),
    kind_folders: dict[str, str] | None = None,
) -> SuiteIndex:
    """The test files under `paths` (folders or files, relative to `root`), but those under
    `not_judges` (Settings.mutate_not_judges)."""
    files: dict[str, str] = {}
    tests: dict[str, list[IndexedTest]] = {}
    found = {
        p for given in paths for p in ([root / given] if given.endswith(".py") else (root / given).rglob("test_*.py"))
    }
    for path in sorted(found):
        relative = path.relative_to(root).as_posix()
        if any(relative.startswith(folder.rstrip("/") + "/") for folder in not_judges) or not path.is_file():
            continue
        source = path.read_text()
        files[relative] = source
        tests[relative] = _tests_of(relative, source)
    return SuiteIndex(files, tests, kind_folders=dict(kind_folders or {}))


def _tests_of(relative: str, source: str) -> list[IndexedTest]:
    """Each test's text: its own source, the module's helpers it names, and the module-level data it
    or those helpers name (a table of the objects it judges, as `SERVES` maps indexes to queries)."""
    tree = ast.parse(source)
    helpers = {
        node.name: (ast.get_source_segment(source, node) or "", _names_in(node))
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("test_")
    }
    data = {
        target.id: ast.get_source_segment(source, node) or ""
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    found = []
    for node, prefix in _test_functions(tree):
        text = "\n".join(ast.get_source_segment(source, d) or "" for d in node.decorator_list)
        text += "\n" + (ast.get_source_segment(source, node) or "")
        called = _names_in(node) | {a.arg for a in node.args.args}
        used = [helpers[name] for name in sorted(called & helpers.keys())]
        named = called.union(*(names for _, names in used))
        text += "\n".join(helper for helper, _ in used)
        text += "\n" + "\n".join(data[name] for name in sorted(named & data.keys()))
        found.append(IndexedTest(f"{relative}::{prefix}{node.name}", text))
    return found


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _test_functions(tree: ast.Module) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    found: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            found.append((node, ""))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found += [
                (child, f"{node.name}::")
                for child in node.body
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and child.name.startswith("test_")
            ]
    return found


def folders_of(nodeids: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for nodeid in nodeids:
        seen[nodeid.split("::")[0].rpartition("/")[0]] = None
    return list(seen)
