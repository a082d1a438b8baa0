"""scripts/screenshots.sh's pictures: a part of a real page, taken in the system's headless Chromium,
small enough to check in; a selector that finds nothing is named. Skipped where the screenshots
extra (playwright) or Chromium is not installed: scripts/screenshots.sh installs both."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from harness.errors import ConfigurationError
from harness.insight import write_insight
from harness.report import build_report, write_report
from harness.report.screenshots import MAX_BYTES, chromium, shoot

pytest.importorskip("playwright", reason="the screenshots extra is not installed")
try:
    chromium()
except ConfigurationError as missing:
    pytest.skip(str(missing), allow_module_level=True)

COMMANDS = [{"command": f"cmd{n}", "calls": n, "usec": 10 * n, "usec_per_call": 10.0, "failed_calls": 0,
             "rejected_calls": 0} for n in range(1, 6)]  # fmt: skip


@pytest.fixture
def page(tmp_path: Path) -> Path:
    write_insight({"version": 1, "postgres": [], "redis": {"commands": COMMANDS}}, tmp_path / "insight-x.json")
    return write_report(build_report(tmp_path))


def test_a_part_of_the_page_is_pictured_small_enough_to_check_in(page: Path, tmp_path: Path) -> None:
    picture = shoot(page, 'section[data-source="insight-x.json"] [data-part=redis]', tmp_path / "redis.png")
    assert 0 < picture.stat().st_size <= MAX_BYTES
    with Image.open(picture) as image:
        width, height = image.size
    assert width > 600  # the page's table, not a sliver of it
    assert height > 5 * 20  # a row a command at least


def test_a_selector_that_matches_nothing_is_named(page: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"nothing matches 'section\[data-source=\"nope\"\]'"):
        shoot(page, 'section[data-source="nope"]', tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
