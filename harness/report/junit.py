"""JUnit XML (`pytest --junitxml`) read into counts and the names of the tests that failed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ResultsFileError


@dataclass(frozen=True)
class Failure:
    test: str
    kind: str  # failure or error
    message: str


@dataclass
class SuiteResults:
    source: str
    tests: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.tests - self.failed - self.errors - self.skipped


def load_junit(path: Path) -> SuiteResults:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ResultsFileError(f"{path}: not readable JUnit XML ({exc})") from None
    results = SuiteResults(path.name)
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        results.seconds += float(suite.get("time", 0))
        for case in suite.iter("testcase"):
            results.tests += 1
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            if (failure := case.find("failure")) is not None:
                results.failed += 1
                results.failures.append(Failure(name, "failure", (failure.get("message") or "")[:300]))
            elif (error := case.find("error")) is not None:
                results.errors += 1
                results.failures.append(Failure(name, "error", (error.get("message") or "")[:300]))
            if case.find("skipped") is not None:
                results.skipped += 1
    return results
