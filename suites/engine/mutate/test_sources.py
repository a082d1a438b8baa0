"""`harness mutate --python --changed`: a changed file's mutants are named by the module it is
imported as, as mutmut names them, wherever its distribution keeps the package."""

from __future__ import annotations

from pathlib import Path

from harness.mutate.sources import module_of


def test_a_changed_file_is_named_as_its_module_is_imported_wherever_its_package_lives(tmp_path: Path) -> None:
    for package in ("plugins/domain/pkg", "plugins/domain/pkg/data", "engine"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    assert module_of(tmp_path, "plugins/domain/pkg/data/x.py") == "pkg.data.x"
    assert module_of(tmp_path, "engine/y.py") == "engine.y"
    assert module_of(tmp_path, "z.py") == "z"
