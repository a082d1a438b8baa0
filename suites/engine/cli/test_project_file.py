"""`pyproject.toml [tool.harness]` configures a repository: defaults < the file < the environment <
pytest ini < the command line; relative paths are the project's wherever the command runs; a key
or value the file cannot hold is one line naming the file, and a usage error. Real files, real
processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suites.engine.cli.project import clean_environment, one_line_error, run_harness, run_pytest, write_project

# A test of the adopting repository's that writes down what the plugin's settings came to.
SETTINGS_TEST = """
import json

def test_settings(harness_settings):
    fields = ("backend", "clone_pool_size", "migrations_dir", "seeds_dir", "redis_config", "project_file")
    with open("seen.json", "w") as out:
        json.dump({name: str(getattr(harness_settings, name)) for name in fields}, out)
"""
INI = '\n[tool.pytest.ini_options]\nharness_backend = "auto"\nharness_migrations_dir = "ini/migrations"\n'


def seen_by_pytest(project: Path, *args: str, **env: str) -> dict[str, str]:
    result = run_pytest(project, "tests", *args, env=clean_environment(**env))
    assert result.returncode == 0, result.stdout + result.stderr
    seen: dict[str, str] = json.loads((project / "seen.json").read_text())
    return seen


def test_each_layer_overrides_the_one_below_from_defaults_to_the_command_line(tmp_path: Path) -> None:
    project = tmp_path / "adopter"
    write_project(project, 'backend = "docker"\nclone_pool_size = 5\nmigrations_dir = "db/migrations"', INI)
    (project / "tests").mkdir()
    (project / "tests" / "test_settings.py").write_text(SETTINGS_TEST)

    everything = seen_by_pytest(project, "--backend", "embedded", HARNESS_BACKEND="external")
    assert everything["backend"] == "embedded"  # the command line over all
    assert everything["clone_pool_size"] == "5"  # the file over the default
    assert everything["migrations_dir"] == str(project / "ini" / "migrations")  # ini over the file
    assert everything["project_file"] == str(project / "pyproject.toml")
    assert seen_by_pytest(project, HARNESS_BACKEND="external")["backend"] == "auto"  # ini over the environment

    write_project(project, 'backend = "docker"\nclone_pool_size = 5\nmigrations_dir = "db/migrations"')
    from_env = seen_by_pytest(project, HARNESS_BACKEND="external", HARNESS_CLONE_POOL_SIZE="2")
    assert (from_env["backend"], from_env["clone_pool_size"]) == ("external", "2")  # the environment over the file
    from_file = seen_by_pytest(project)
    assert (from_file["backend"], from_file["clone_pool_size"]) == ("docker", "5")
    assert from_file["migrations_dir"] == str(project / "db" / "migrations")

    write_project(project, "")
    defaults = seen_by_pytest(project)
    assert (defaults["backend"], defaults["clone_pool_size"]) == ("embedded", "3")
    assert defaults["migrations_dir"] == str(project / "schema" / "postgres" / "migrations")


def test_relative_paths_are_the_projects_from_any_subdirectory(tmp_path: Path) -> None:
    project = tmp_path / "adopter"
    write_project(project, 'migrations_dir = "db/migrations"')
    deep = project / "src" / "deep"
    deep.mkdir(parents=True)

    made = run_harness(deep, "migrate", "generate", "add_orders")
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (project / "db" / "migrations").iterdir()) == [
        "0001_add_orders.down.sql", "0001_add_orders.up.sql",
    ]  # fmt: skip
    assert not (deep / "db").exists()

    # the environment's relative path is the project's too; --dir is the command line's, as typed
    env = clean_environment(HARNESS_MIGRATIONS_DIR="other")
    assert run_harness(deep, "migrate", "generate", "x", env=env).returncode == 0
    assert (project / "other" / "0001_x.up.sql").is_file()
    assert run_harness(deep, "migrate", "generate", "y", "--dir", "here", env=env).returncode == 0
    assert (deep / "here" / "0001_y.up.sql").is_file()


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('migration_dir = "db"', "[tool.harness] has no setting 'migration_dir' (did you mean 'migrations_dir'?)"),
        ("clone_pool_size = 0", "[tool.harness] clone_pool_size = 0: input should be greater than or equal to 1"),
        ('reuse = "sometimes"', "[tool.harness] reuse = 'sometimes': input should be a valid boolean"),
        ('redis_url = "redis://x"', "[tool.harness] cannot hold 'redis_url': it is read from the environment only"),
    ],
)
def test_a_key_or_value_the_file_cannot_hold_is_one_line_naming_the_file(
    tmp_path: Path, table: str, expected: str
) -> None:
    project = tmp_path / "adopter"
    path = write_project(project, table)
    (project / "tests").mkdir()
    (project / "tests" / "test_settings.py").write_text(SETTINGS_TEST)

    cli = run_harness(project / "tests", "status")
    assert cli.returncode == 2
    line = one_line_error(cli)
    assert line.startswith(f"error: {path}: ")
    assert expected in line

    session = run_pytest(project, "tests")
    assert session.returncode == pytest.ExitCode.USAGE_ERROR, session.stdout
    assert "Traceback" not in session.stdout + session.stderr
    assert f"harness: {path}: " in session.stdout
    assert expected in session.stdout
