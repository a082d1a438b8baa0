"""One configuration model: every pytest option and ini key is a field,
`harness settings` says where each value came from without showing a password, and the engine's
defaults name nothing of BetterPrompts. Real files, real processes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import Settings
from harness.errors import ConfigurationError
from harness.exports import with_role_urls
from harness.provision.redis_access import admin_credentials
from harness.pytest_options import PYTEST_SETTINGS
from harness.settings_table import settings_markdown
from suites.engine.cli.commands import ROOT
from suites.engine.cli.project import clean_environment, run_harness, write_project

DOMAIN_NAMES = re.compile(r"betterprompts|bp_|demo", re.IGNORECASE)


def test_every_pytest_option_and_ini_key_is_a_setting() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    section = shown.split("disposable PostgreSQL+pgvector and Redis:", 1)[1].split("\n\n", 1)[0]
    options = {name.replace("-", "_") for name in re.findall(r"^  --([a-z-]+)", section, re.M)}
    ini_keys = set(re.findall(r"^  harness_(\w+) \(", shown, re.M))
    assert options == {"backend", "pg_image", "redis_image", "reuse", "keep"}
    assert ini_keys == options | {"migrations_dir"}
    assert ini_keys <= set(Settings.model_fields)
    table = settings_markdown()
    for name in ini_keys:
        assert f"ini `harness_{name}`" in table


def test_the_plugins_table_of_pytest_settings_agrees_with_the_model() -> None:
    """The plugin registers its options from a table of its own (no settings model to import in
    every process); what the table says of each setting, the model must say too."""
    for setting in PYTEST_SETTINGS:
        annotation = Settings.model_fields[setting.name].annotation
        assert (setting.kind == "flag") == (annotation is bool), setting.name
        assert (setting.kind == "path") == (annotation is Path), setting.name


def test_settings_names_each_values_source_and_hides_passwords(tmp_path: Path) -> None:
    project = tmp_path / "adopter"
    write_project(project, 'backend = "docker"\nmigrations_dir = "db/migrations"')
    env = clean_environment(
        HARNESS_CLONE_POOL_SIZE="5",
        DATABASE_URL="postgresql://shop:hunter2-db@db.example:5433/shop",
        REDIS_PASSWORD="hunter2-redis",
    )
    (project / "src").mkdir()
    shown = run_harness(project / "src", "settings", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "hunter2" not in shown.stdout
    rows = {
        cells[0]: (cells[1], cells[2])
        for line in shown.stdout.splitlines()
        if len(cells := [cell.strip() for cell in line.split("│")[1:-1]]) == 3
    }
    assert rows["project_file"] == (str(project / "pyproject.toml"), "the nearest pyproject.toml")
    assert rows["backend"] == ("docker", "[tool.harness]")
    assert rows["migrations_dir"] == (str(project / "db" / "migrations"), "[tool.harness]")
    assert rows["clone_pool_size"] == ("5", "environment HARNESS_CLONE_POOL_SIZE")
    assert rows["test_database_url"] == ("postgresql://shop:***@db.example:5433/shop", "environment DATABASE_URL")
    assert rows["redis_password"] == ("***", "environment REDIS_PASSWORD")
    assert rows["hang_timeout"] == ("120.0", "default")


def test_the_engines_defaults_name_nothing_of_the_domain() -> None:
    for name, field in Settings.model_fields.items():
        assert not DOMAIN_NAMES.search(str(field.default)), f"Settings.{name} defaults to {field.default!r}"
    plain = Settings(project_file=None)
    assert (plain.database, plain.up_seed, plain.redis_admin_user) == ("app", "", "")


def test_a_redis_acl_without_an_admin_user_is_one_line_naming_the_setting(
    harness_settings: Settings, tmp_path: Path
) -> None:
    acl = tmp_path / "users.acl"
    acl.write_text("user default off\n")
    settings = harness_settings.model_copy(update={"redis_acl": acl, "redis_admin_user": ""})
    with pytest.raises(ConfigurationError, match=r"users\.acl is in force .* but no redis_admin_user is set"):
        admin_credentials(settings)
    assert admin_credentials(settings.model_copy(update={"redis_acl": settings.redis_acl.with_name("none")})) is None


def test_each_login_gets_a_url_variable_named_after_its_role(tmp_path: Path) -> None:
    logins = tmp_path / "logins.toml"
    logins.write_text('[shop_app]\npassword = "a"\n\n["report-reader"]\npassword = "b"\n')
    urls = with_role_urls({"DATABASE_URL": "postgresql://postgres:x@127.0.0.1:5432/shop"}, logins)
    assert urls == {
        "DATABASE_URL": "postgresql://postgres:x@127.0.0.1:5432/shop",
        "SHOP_APP_DATABASE_URL": "postgresql://shop_app:a@127.0.0.1:5432/shop",
        "REPORT_READER_DATABASE_URL": "postgresql://report-reader:b@127.0.0.1:5432/shop",
    }
    assert with_role_urls({"DATABASE_URL": "postgresql://h/d"}, tmp_path / "none.toml") == {
        "DATABASE_URL": "postgresql://h/d"
    }


def test_a_bad_setting_under_xdist_is_reported_once(tmp_path: Path) -> None:
    project = tmp_path / "adopter"
    path = write_project(project, 'migration_dir = "db"')
    (project / "tests").mkdir()
    (project / "tests" / "test_any.py").write_text("def test_any(harness_settings):\n    pass\n")
    session = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "tests"], cwd=project,
        capture_output=True, text=True, check=False, env=clean_environment(),
    )  # fmt: skip
    output = session.stdout + session.stderr
    assert session.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "Traceback" not in output
    assert output.count(f"harness: {path}: [tool.harness] has no setting 'migration_dir'") == 1, output


def test_a_child_process_reads_back_every_setting_it_is_handed(
    harness_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`as_environment` is how mutation slots, detached ups and the suites' subprocesses inherit a
    run's settings: every field, lists and tables included, must come back equal."""
    configured = harness_settings.model_copy(
        update={"mutate_not_judges": ["suites/a", "suites/b c"], "mutate_kind_folders": {"grant": "suites/s"}}
    )
    for name, value in configured.as_environment().items():
        monkeypatch.setenv(name, value)
    assert Settings(project_file=None).model_dump(exclude={"project_file"}) == configured.model_dump(
        exclude={"project_file"}
    )
