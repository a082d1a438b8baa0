"""PNG pictures of parts of a report page, taken in a headless Chromium, for the README and for a
reviewer's eye: a page that renders badly (an empty section, a table past the page's edge) shows
there as it would in a browser. Playwright drives the system's Chromium (`executable_path`), so its
own browser download, which our machines cannot fetch, is never needed.

    python -m harness.report.screenshots reports/local/index.html 'section[data-source="..."]' out.png
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from pathlib import Path

from harness.errors import ConfigurationError, HarnessError
from harness.extras import missing_extra

WIDTH = 1150  # the page's max-width (1100 px) and its margins
MAX_BYTES = 300_000  # a picture checked into the repository
COLOURS = 64  # a page of text and flat tints: a palette this small keeps it legible and small


def chromium() -> str:
    """The system's Chromium (Debian's `chromium`, Ubuntu's `chromium-browser`)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    raise ConfigurationError("no Chromium on PATH: apt-get install -y chromium")


def shoot(page: Path, selector: str, target: Path, open_plans: int = 1) -> Path:
    """The first element of `page` that `selector` matches, as a PNG at `target`, with its first
    `open_plans` collapsed plans (`<details>`) opened; reduced to a palette, and halved in size
    until it is under MAX_BYTES."""
    try:
        from PIL import Image  # matplotlib's dependency: the report extra
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError as exc:
        raise missing_extra("screenshots", "a report screenshot", exc.name) from None
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": WIDTH, "height": 800})
            tab.goto(page.resolve().as_uri())
            element = tab.locator(selector).first
            if not element.count():
                raise ConfigurationError(f"{page}: nothing matches {selector!r}; is it the page of the run meant?")
            element.evaluate(
                "(part, n) => [...part.querySelectorAll('details')].filter(d => d.closest('[data-part=statements]'))"
                ".slice(0, n).forEach(d => { d.open = true; })",
                open_plans,
            )
            picture: Image.Image = Image.open(io.BytesIO(element.screenshot()))
        finally:
            browser.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        buffer = io.BytesIO()
        picture.convert("RGB").quantize(COLOURS).save(buffer, "PNG", optimize=True)
        if buffer.tell() <= MAX_BYTES or picture.width < 400:
            break
        picture = picture.resize((picture.width * 3 // 4, picture.height * 3 // 4), Image.Resampling.LANCZOS)
    target.write_bytes(buffer.getvalue())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path, help="a report's index.html")
    parser.add_argument("selector", help="CSS selector of the part to picture")
    parser.add_argument("target", type=Path, help="the PNG to write")
    parser.add_argument("--open-plans", type=int, default=1, help="collapsed plans to open first (default 1)")
    options = parser.parse_args(argv)
    try:
        written = shoot(options.page, options.selector, options.target, options.open_plans)
    except HarnessError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 2
    print(f"{written} ({written.stat().st_size // 1000} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
