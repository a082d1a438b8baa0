"""JUnit XML (`pytest --junitxml`) read into counts, each test's outcome and the failures; the
files of a suite's shards merged into one."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.errors import ResultsFileError

MESSAGE_LENGTH = 300
# user:password@ of a URL (postgresql://, redis://, …); a password holds no '/', '@' or space
# unencoded. A failed assertion on a DSN puts it in the XML; the report is shared further.
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]*):[^\s/@]*@", re.IGNORECASE)
QUERY_PASSWORD = re.compile(r"(?P<head>[?&][^\s=&#]*password=)[^\s&#'\"]*", re.IGNORECASE)  # ?password=, &sslpassword=


Outcome = Literal["passed", "failed", "error", "skipped"]


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
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # test id (classname::name) → its outcome

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
            name = redact_urls(f"{case.get('classname', '')}::{case.get('name', '')}")
            outcome: Outcome = "passed"
            if (failure := case.find("failure")) is not None:
                results.failed += 1
                results.failures.append(Failure(name, "failure", message(failure)))
                outcome = "failed"
            elif (error := case.find("error")) is not None:
                results.errors += 1
                results.failures.append(Failure(name, "error", message(error)))
                outcome = "error"
            if case.find("skipped") is not None:
                results.skipped += 1
                outcome = "skipped" if outcome == "passed" else outcome
            results.outcomes[name] = outcome
    return results


def merge_suites(shards: Sequence[SuiteResults]) -> SuiteResults:
    """One suite's results from the same-named files of its shards: counts and failures added up,
    outcomes united, seconds summed (machine time, not the wall time of the shards running at once)."""
    merged = SuiteResults(shards[0].source if len(shards) == 1 else f"{shards[0].source} ({len(shards)} shards)")
    for shard in shards:
        merged.tests += shard.tests
        merged.failed += shard.failed
        merged.errors += shard.errors
        merged.skipped += shard.skipped
        merged.seconds += shard.seconds
        merged.failures += shard.failures
        merged.outcomes |= shard.outcomes
    return merged


def message(element: ET.Element) -> str:
    """A failure's message, its URLs' passwords hidden before it is cut short (a cut could leave a
    password without the '@' that marks it)."""
    return redact_urls(element.get("message") or "")[:MESSAGE_LENGTH]


def redact_urls(text: str) -> str:
    """`text` with every URL's passwords replaced by ***, as harness.provision.endpoints.redact does
    for one URL (the report reads files and depends on nothing else)."""
    return QUERY_PASSWORD.sub(r"\g<head>***", URL_PASSWORD.sub(r"\g<head>:***@", text))
