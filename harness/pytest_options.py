"""The settings the pytest plugin offers as options and ini keys, in a table of their own.

pytest registers options before anything else, in every process of a run, and every xdist worker
is such a process: read from the settings model, the table cost each of them the model's import
(pydantic, pydantic-settings) before its first test, most of what the plugin's import costs. Here
it costs nothing; `suites/engine/cli/test_settings.py` keeps it true to the model (the names, the
flags), whose descriptions stay the settings' documentation (`harness settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pytest  # `harness settings` reads the table too, without pytest


@dataclass(frozen=True)
class PytestSetting:
    """A setting pytest offers: as an option `--name` and an ini key `harness_<name>` ("option"),
    or as the ini key only ("ini"). A "flag" takes no value; an ini "path" is relative to the rootdir."""

    name: str
    exposure: Literal["option", "ini"]
    kind: Literal["flag", "text", "path"]
    help: str

    @property
    def ini(self) -> str:
        return f"harness_{self.name}"

    @property
    def option(self) -> str:
        return f"--{self.name.replace('_', '-')}"


PYTEST_SETTINGS = (
    PytestSetting("backend", "option", "text", "where the servers come from: embedded, docker, external or auto"),
    PytestSetting("pg_image", "option", "text", "PostgreSQL+pgvector image of the docker backend"),
    PytestSetting("redis_image", "option", "text", "Redis image of the docker backend"),
    PytestSetting("reuse", "option", "flag", "keep a local server and its templates between runs"),
    PytestSetting("keep", "option", "flag", "leave this run's servers running afterwards"),
    PytestSetting("migrations_dir", "ini", "path", "the migrations directory, relative to the rootdir"),
)
MORE = " (all settings: `harness settings`)"


def add_settings(parser: pytest.Parser) -> None:
    """Each setting of the table as its ini key, and as its option where it is one."""
    group = parser.getgroup("harness", "disposable PostgreSQL+pgvector and Redis")
    for setting in PYTEST_SETTINGS:
        flag = setting.kind == "flag"
        if flag:
            parser.addini(setting.ini, setting.help + MORE, type="bool", default=None)
        else:
            parser.addini(setting.ini, setting.help + MORE)
        if setting.exposure == "option":
            kind: dict[str, Any] = {"action": "store_true"} if flag else {}
            group.addoption(setting.option, dest=setting.ini, default=None, help=setting.help, **kind)


def settings_given(config: pytest.Config) -> dict[str, Any]:
    """What the run's ini values (paths relative to the rootdir), overridden by its command-line
    options, set; the settings model validates them."""
    given: dict[str, Any] = {}
    for setting in PYTEST_SETTINGS:
        ini = config.getini(setting.ini)
        if ini not in (None, ""):
            given[setting.name] = config.rootpath / ini if setting.kind == "path" else ini
        option = config.getoption(setting.ini, default=None) if setting.exposure == "option" else None
        if option is not None:
            given[setting.name] = option
    return given


def pytest_setting(name: str) -> PytestSetting | None:
    return next((setting for setting in PYTEST_SETTINGS if setting.name == name), None)
