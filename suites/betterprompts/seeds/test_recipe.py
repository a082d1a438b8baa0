"""The seed's part of a template's name covers the generator's code, not only the data: a changed
generator under `--reuse` builds a new template instead of cloning a stale one."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg

from betterprompts_db.recipe import SEED_CODE, SeedProfile
from harness.config import Settings
from harness.isolation import Recipe, RunState, ServerFacts, template_name


async def test_an_edited_seed_generator_names_another_template(
    harness_run: RunState, harness_settings: Settings, tmp_path: Path
) -> None:
    admin = await asyncpg.connect(harness_run.endpoints.postgres)
    try:
        server = await ServerFacts.read(admin)
    finally:
        await admin.close()
    code = tmp_path / "seed"
    shutil.copytree(SEED_CODE, code, ignore=shutil.ignore_patterns("__pycache__"))

    def name(code_dir: Path, profile: str = "minimal") -> str:
        seed = SeedProfile(profile, harness_settings.seeds_dir, code_dir)
        return template_name(Recipe(harness_settings.migrations_dir, seed), server)

    shipped = name(SEED_CODE)
    assert name(code) == shipped  # the same code elsewhere is the same template
    assert name(code, "demo") != shipped
    people = code / "people.py"
    people.write_text(people.read_text() + "\nNOBODY = 0\n")
    assert name(code) != shipped
