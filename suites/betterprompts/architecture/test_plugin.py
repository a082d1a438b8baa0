"""BetterPrompts installed beside the engine: its plug-in is found by its entry point and seeds
templates (suites/engine/architecture/test_plugins.py: the engine without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import plugins
from harness.config import Settings
from harness.errors import ConfigurationError
from harness.isolation.run import template_recipe


def test_the_installed_domain_registers_through_its_entry_point(harness_settings: Settings) -> None:
    plugin = plugins.load_plugin(harness_settings.plugin)
    assert plugin is not None
    assert plugin.name == "betterprompts"
    assert plugin.mutants
    assert plugin.sql_equivalents
    assert plugin.python_equivalents
    recipe = template_recipe(harness_settings.model_copy(update={"template_seed": "minimal"}))
    assert recipe.seed is not None
    assert recipe.kind == "migrations+seed minimal"


def test_a_seed_whose_files_are_missing_names_the_setting_and_the_plugin(
    harness_settings: Settings, tmp_path: Path
) -> None:
    """Another project with BetterPrompts installed beside the engine, asking for its seed."""
    settings = harness_settings.model_copy(update={"template_seed": "demo", "seeds_dir": tmp_path})
    expected = (
        r"""template_seed = 'demo' \(the betterprompts plug-in's seed; "" for none\): .*profiles\.toml: no such file"""
    )
    with pytest.raises(ConfigurationError, match=expected):
        template_recipe(settings)
