"""Which tests are asked to judge a mutant first: a map from the object's names to the tests that
mention them, built from the suites' source (no run needed).

A test's text is its own source (decorators and parameters included) plus the module-level
helpers it calls; a file's text is the whole module. A mention `table.column` matches text that
holds both words; a bare name matches the word. The tests whose own text matches come first, then
the other tests of files that match, then, for privileges and policies, the tests of the kind's
own folder that name the table. Whatever this map misses, the confirmation with the whole suite
(`campaign`) still judges.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness.mutate.generated import GeneratedMutant

SUITES = "suites"
NOT_JUDGES = ("suites/benchmarks", "suites/mutate", "suites/loadtests")
# the folder each kind of mistake belongs to, asked after the tests that mention the object
KIND_FOLDERS = {
    "grant": "suites/security", "revoke": "suites/security", "policy": "suites/security",
    "row-security": "suites/security", "function": "suites/security", "acl": "suites/security",
    "config": "suites/redis", "ttl": "suites/data_redis",
}  # fmt: skip


@dataclass(frozen=True)
class TestText:
    nodeid: str  # without parameters: every parametrized case of the function
    text: str


@dataclass(frozen=True)
class SuiteIndex:
    files: dict[str, str]  # path relative to the root → module text
    tests: dict[str, list[TestText]]  # path → its tests

    def select(self, mutant: GeneratedMutant) -> list[str]:
        """Test node ids (parameterless prefixes), most specific first."""
        own: list[str] = []
        in_files: list[str] = []
        for path, text in self.files.items():
            if not any(matches(text, m) for m in mutant.mentions):
                continue
            for test in self.tests[path]:
                mentioned = any(matches(test.text, m) for m in mutant.mentions)
                (own if mentioned else in_files).append(test.nodeid)
        chosen = own + in_files
        folder = KIND_FOLDERS.get(mutant.kind)
        if folder is not None:
            scope = [m for m in mutant.mentions if "." not in m][-1:] or [mutant.object.split(".")[-1]]
            for path, tests in self.tests.items():
                if path.startswith(folder + "/") and any(matches(self.files[path], m) for m in scope):
                    chosen += [t.nodeid for t in tests if t.nodeid not in chosen]
        return chosen


def matches(text: str, mention: str) -> bool:
    return all(_word(part).search(text) for part in mention.split("."))


@cache
def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", re.IGNORECASE)


def index_suites(root: Path) -> SuiteIndex:
    files: dict[str, str] = {}
    tests: dict[str, list[TestText]] = {}
    for path in sorted((root / SUITES).rglob("test_*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(NOT_JUDGES):
            continue
        source = path.read_text()
        files[relative] = source
        tests[relative] = _tests_of(relative, source)
    return SuiteIndex(files, tests)


def _tests_of(relative: str, source: str) -> list[TestText]:
    tree = ast.parse(source)
    helpers = {
        node.name: ast.get_source_segment(source, node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("test_")
    }
    found = []
    for node, prefix in _test_functions(tree):
        text = "\n".join(ast.get_source_segment(source, d) or "" for d in node.decorator_list)
        text += "\n" + (ast.get_source_segment(source, node) or "")
        called = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {a.arg for a in node.args.args}
        text += "\n".join(helpers[name] for name in sorted(called & helpers.keys()))
        found.append(TestText(f"{relative}::{prefix}{node.name}", text))
    return found


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
