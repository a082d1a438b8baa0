"""This repository's README documents its settings by the generated table: the engine's and the
BetterPrompts plug-in's, as `harness settings --markdown` prints them here (the engine alone, without
the plug-in, prints the engine's rows only)."""

from __future__ import annotations

from harness.config import Settings
from harness.plugins import load_plugin
from harness.settings_table import settings_markdown
from suites.engine.cli.commands import ROOT

BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def test_the_readme_settings_table_is_the_generated_one(harness_settings: Settings) -> None:
    text = (ROOT / "README.md").read_text()
    for marker in (BEGIN, END):
        assert marker in text, f"README.md lost its {BEGIN} … {END} block (section Settings)"
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
    assert documented == settings_markdown(load_plugin(harness_settings.plugin)).strip("\n"), (
        f"README.md's settings table is not the generated one: put the output of `harness settings --markdown` "
        f"between {BEGIN} and {END}"
    )
