"""The engine without a domain: no plug-in installed means migrations-only templates, no seed
profiles, no hand-written mutants, and no password for a shipped Redis ACL
(suites/betterprompts/architecture/test_plugin.py: with BetterPrompts installed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import harness
from harness import plugins
from harness.config import Settings
from harness.errors import ConfigurationError
from harness.isolation.run import template_recipe
from harness.mutate.sources import MutationRequest
from harness.provision.redis_access import admin_credentials


@pytest.fixture
def no_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(plugins, "entry_points", lambda group: [])
    plugins.load_plugin.cache_clear()
    yield
    plugins.load_plugin.cache_clear()


@pytest.mark.usefixtures("no_plugin")
def test_without_a_plugin_the_engine_builds_migrations_only_and_says_what_is_missing(
    harness_settings: Settings, tmp_path: Path
) -> None:
    assert plugins.load_plugin(harness_settings.plugin) is None
    assert template_recipe(harness_settings).seed is None
    with pytest.raises(ConfigurationError, match="template_seed = 'demo' asks for a seed, but no installed plug-in"):
        template_recipe(harness_settings.model_copy(update={"template_seed": "demo"}))
    assert MutationRequest(tmp_path, harness_settings).hand_mutants() == []
    assert admin_credentials(harness_settings.model_copy(update={"redis_acl": tmp_path / "none.acl"})) is None
    shipped = tmp_path / "users.acl"
    shipped.write_text("user default off\n")
    with pytest.raises(ConfigurationError, match=r"users\.acl is in force, but no installed plug-in"):
        admin_credentials(harness_settings.model_copy(update={"redis_acl": shipped, "redis_admin_user": "admin"}))


def test_a_plugin_that_is_not_installed_stops_the_template_as_it_stops_the_cli(harness_settings: Settings) -> None:
    """pytest builds the template before any test: an unknown plug-in ends the run there, in one line."""
    with pytest.raises(ConfigurationError, match=r"plug-in 'nope' \(the plugin setting\) is not installed"):
        template_recipe(harness_settings.model_copy(update={"plugin": "nope"}))


def test_the_engine_names_nothing_of_its_first_domain() -> None:
    """No engine module names BetterPrompts, its roles or its suites' folders: a project's database,
    logins, seed, and the test folders `harness mutate` skips or asks first are its settings."""
    engine = Path(harness.__file__).parent
    domain = re.compile(r"betterprompts|\bbp_", re.IGNORECASE)
    named = [
        f"{path.relative_to(engine.parent)}:{number}: {line.strip()}"
        for path in sorted(engine.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if domain.search(line)
    ]
    assert named == []
