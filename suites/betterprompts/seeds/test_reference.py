"""The reference files agree with the schema's enumerations and with each other."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from betterprompts_db.seed import SeedFileError, load_reference


async def test_technique_names_are_exactly_the_schemas_technique_names(
    pg_conn: asyncpg.Connection, seeds_dir: Path
) -> None:
    schema = await pg_conn.fetchval("SELECT public.technique_names()")
    assert [t.name for t in load_reference(seeds_dir).techniques] == schema


async def test_intent_patterns_and_vocabulary_cover_every_intent_of_the_schema(
    pg_conn: asyncpg.Connection, seeds_dir: Path
) -> None:
    schema = await pg_conn.fetchval("SELECT public.intent_names()")
    reference = load_reference(seeds_dir)
    assert list(reference.intents) == schema
    per_intent = Counter(p.intent for p in reference.intent_patterns)
    assert set(per_intent) == set(schema)
    assert min(per_intent.values()) >= 5
    assert 90 <= len(reference.intent_patterns) <= 120


def test_templates_give_each_technique_two_or_more_and_some_leave_the_slug_to_the_trigger(seeds_dir: Path) -> None:
    reference = load_reference(seeds_dir)
    per_technique = Counter(t.technique for t in reference.templates)
    assert set(per_technique) == {t.name for t in reference.techniques}
    assert min(per_technique.values()) >= 2
    assert any(t.slug == "" for t in reference.templates)
    assert any(t.slug for t in reference.templates)


def test_intent_patterns_are_distinct_after_normalising(seeds_dir: Path) -> None:
    """What the normalising trigger computes; a duplicate would break the (normalized, intent) key."""
    patterns = load_reference(seeds_dir).intent_patterns
    normalised = Counter((re.sub(r"\s+", " ", p.pattern).strip().lower(), p.intent) for p in patterns)
    assert [key for key, n in normalised.items() if n > 1] == []


def test_a_template_naming_an_unknown_technique_is_reported_with_its_file(seeds_dir: Path, tmp_path: Path) -> None:
    for path in seeds_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    templates = tmp_path / "templates.toml"
    templates.write_text(templates.read_text().replace('technique = "few_shot"', 'technique = "few_shots"', 1))
    with pytest.raises(SeedFileError, match=r"templates\.toml: Few-Shot Classification: unknown technique 'few_shots'"):
        load_reference(tmp_path)


def copy_seeds(seeds_dir: Path, to: Path) -> Path:
    for path in seeds_dir.iterdir():
        (to / path.name).write_bytes(path.read_bytes())
    return to


def test_every_broken_reference_is_named_in_one_line_after_the_seeds_directory(seeds_dir: Path, tmp_path: Path) -> None:
    seeds = copy_seeds(seeds_dir, tmp_path)
    templates = seeds / "templates.toml"
    templates.write_text(templates.read_text().replace('technique = "few_shot"', 'technique = "few_shots"'))
    with pytest.raises(SeedFileError) as refusal:
        load_reference(seeds)
    message = str(refusal.value)
    assert message.startswith(f"{seeds}: templates.toml: ")
    assert message.count("unknown technique 'few_shots'") >= 2
    assert "'; templates.toml: " in message
    assert "\n" not in message


def test_a_vocabulary_intent_without_its_subjects_names_the_vocabulary_file(seeds_dir: Path, tmp_path: Path) -> None:
    seeds = copy_seeds(seeds_dir, tmp_path)
    vocabulary = seeds / "vocabulary.toml"
    vocabulary.write_text(vocabulary.read_text().replace("subjects = [", "subject_list = [", 1))
    with pytest.raises(SeedFileError, match=rf"^{re.escape(str(vocabulary))}: "):
        load_reference(seeds)


def test_seeds_without_templates_or_named_accounts_load_none_of_them(seeds_dir: Path, tmp_path: Path) -> None:
    """A team's seeds may have neither: the generated world needs no template or named account."""
    seeds = copy_seeds(seeds_dir, tmp_path)
    (seeds / "templates.toml").write_text("# no templates\n")
    (seeds / "accounts.toml").write_text("# no named accounts\n")
    patterns = seeds / "intent_patterns.csv"
    with patterns.open(newline="", encoding="utf-8") as file:
        rows = [row | {"verified_by": ""} for row in csv.DictReader(file)]  # no account to verify them
    with patterns.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    reference = load_reference(seeds)
    assert (reference.templates, reference.accounts) == ((), ())
    assert reference.intent_patterns


def test_seed_files_are_read_as_utf8_whatever_the_locale(seeds_dir: Path, tmp_path: Path) -> None:
    """A CI image or a server with an ASCII (or Latin-1) locale reads the same patterns."""
    seeds = copy_seeds(seeds_dir, tmp_path)
    patterns = seeds / "intent_patterns.csv"
    extra = "Wie schön ist Zürich?,question_answering,factual,0.9,,manual\n"
    patterns.write_text(patterns.read_text(encoding="utf-8") + extra, encoding="utf-8")
    probe = (
        "import sys, pathlib; from betterprompts_db.seed import load_reference;"
        " print(load_reference(pathlib.Path(sys.argv[1])).intent_patterns[-1].pattern)"
    )
    ascii_locale = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
                    "PYTHONIOENCODING": "utf-8"}  # fmt: skip
    command = [sys.executable, "-c", probe, str(seeds)]
    result = subprocess.run(command, env=ascii_locale, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()[-500:]
    assert result.stdout.decode().strip() == "Wie schön ist Zürich?"
