"""With two domain plug-ins installed, the `plugin` setting chooses one; none chosen is a usage
error naming both and the setting. The second plug-in is a real distribution (a `*.dist-info`
with its `entry_points.txt`) on the child's path, found by importlib.metadata as pip's would be."""

from __future__ import annotations

from pathlib import Path

import pytest

from suites.engine.cli.project import clean_environment, one_line_error, run_harness, write_project

PLUGIN_MODULE = '''
import typer
from harness.plugins import Plugin


def add_commands(app: typer.Typer) -> None:
    @app.command("shop-hello")
    def hello() -> None:
        """Greet from the shop plug-in."""
        print("hello from shop")


plugin = Plugin(name="shop", commands=add_commands)
'''


@pytest.fixture
def second_plugin(tmp_path: Path) -> dict[str, str]:
    """The environment of a child that has the `shop` plug-in installed beside BetterPrompts."""
    site = tmp_path / "site"
    info = site / "shop_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "shop_plugin.py").write_text(PLUGIN_MODULE)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shop-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[harness.plugins]\nshop = shop_plugin:plugin\n")
    return clean_environment(PYTHONPATH=str(site))


def test_two_plugins_and_none_chosen_is_one_line_naming_both_and_the_setting(
    tmp_path: Path, second_plugin: dict[str, str]
) -> None:
    result = run_harness(tmp_path, "status", env=second_plugin)
    assert result.returncode == 2
    line = one_line_error(result)
    assert "several plug-ins installed in entry point group harness.plugins" in line
    assert "betterprompts (betterprompts_db.plugin:plugin), shop (shop_plugin:plugin)" in line
    assert 'plugin = "NAME" in pyproject.toml [tool.harness] or HARNESS_PLUGIN=NAME' in line


def test_the_plugin_setting_chooses_whose_commands_the_cli_gets(tmp_path: Path, second_plugin: dict[str, str]) -> None:
    write_project(tmp_path, 'plugin = "shop"')
    shop = run_harness(tmp_path, "shop-hello", env=second_plugin)
    assert shop.returncode == 0, shop.stderr
    assert shop.stdout.strip() == "hello from shop"
    assert "No such command 'seed'" in run_harness(tmp_path, "seed", "--help", env=second_plugin).stderr

    betterprompts = {**second_plugin, "HARNESS_PLUGIN": "betterprompts"}  # the environment over the file
    assert run_harness(tmp_path, "seed", "--help", env=betterprompts).returncode == 0
    assert "No such command 'shop-hello'" in run_harness(tmp_path, "shop-hello", env=betterprompts).stderr

    missing = run_harness(tmp_path, "status", env={**second_plugin, "HARNESS_PLUGIN": "garden"})
    assert missing.returncode == 2
    assert one_line_error(missing).endswith(
        "plug-in 'garden' (the plugin setting) is not installed in entry point group harness.plugins; "
        "installed: betterprompts (betterprompts_db.plugin:plugin), shop (shop_plugin:plugin)"
    )
