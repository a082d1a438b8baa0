"""The reference data under seeds/: techniques, templates, intent patterns, named accounts, vocabulary.

Read once into frozen dataclasses; every inconsistency between the files is reported with the
file it was found in, before anything touches a database.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betterprompts_db.seed.errors import SeedFileError


@dataclass(frozen=True)
class Technique:
    name: str
    title: str
    description: str
    intents: tuple[str, ...]
    effectiveness: float
    instruction: str


@dataclass(frozen=True)
class Template:
    name: str
    slug: str  # "": the templates_fill_slug trigger makes one from the name
    technique: str
    category: str
    intent: str
    description: str
    template_text: str
    variables: tuple[str, ...]
    examples: tuple[dict[str, Any], ...]
    effectiveness_score: float
    is_active: bool
    is_public: bool
    created_by: str | None


@dataclass(frozen=True)
class IntentPattern:
    pattern: str  # as users typed it: the normalising trigger lower-cases and trims it
    intent: str
    sub_intent: str
    confidence: float
    verified_by: str | None
    source: str


@dataclass(frozen=True)
class Account:
    key: str
    email: str
    username: str
    password: str
    role: str
    tier: str
    first_name: str | None = None
    last_name: str | None = None
    verified: bool = True
    active: bool = True
    locked: bool = False
    failed_login_attempts: int = 0
    verification_token: str | None = None
    session_token: str | None = None
    api_key: str | None = None
    api_scopes: tuple[str, ...] = ("read",)


@dataclass(frozen=True)
class IntentWords:
    weight: float
    shapes: tuple[str, ...]
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    email_domains: tuple[str, ...]
    user_agents: tuple[str, ...]
    models: tuple[str, ...]
    collection_names: tuple[str, ...]
    tags: tuple[str, ...]
    feedback_texts: tuple[str, ...]
    api_endpoints: tuple[str, ...]
    intents: dict[str, IntentWords]


@dataclass(frozen=True)
class Reference:
    techniques: tuple[Technique, ...]
    templates: tuple[Template, ...]
    intent_patterns: tuple[IntentPattern, ...]
    accounts: tuple[Account, ...]
    vocabulary: Vocabulary

    @property
    def intents(self) -> tuple[str, ...]:
        return tuple(self.vocabulary.intents)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as exc:
        raise SeedFileError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SeedFileError(f"{path}: invalid TOML: {exc}") from exc


def build(path: Path, cls: type[Any], entry: dict[str, Any], tuples: tuple[str, ...] = ()) -> Any:
    """`cls(**entry)` with lists turned into tuples; a bad or missing key names the file and entry."""
    values = {k: tuple(v) if k in tuples else v for k, v in entry.items()}
    try:
        return cls(**values)
    except TypeError as exc:
        raise SeedFileError(f"{path}: entry {entry.get('name') or entry.get('key')!r}: {exc}") from exc


def load_reference(seeds_dir: Path) -> Reference:
    """Every reference file under `seeds_dir`, checked against each other."""
    techniques_file = seeds_dir / "techniques.toml"
    techniques = tuple(
        build(techniques_file, Technique, e, ("intents",)) for e in read_toml(techniques_file).get("technique", [])
    )
    templates_file = seeds_dir / "templates.toml"
    templates = tuple(
        build(
            templates_file,
            Template,
            {"slug": "", "is_active": True, "is_public": True, "created_by": None} | {"examples": []} | e,
            ("variables", "examples"),
        )
        for e in read_toml(templates_file).get("template", [])
    )
    accounts_file = seeds_dir / "accounts.toml"
    accounts = tuple(
        build(accounts_file, Account, e, ("api_scopes",)) for e in read_toml(accounts_file).get("account", [])
    )
    reference = Reference(
        techniques=techniques,
        templates=templates,
        intent_patterns=read_intent_patterns(seeds_dir / "intent_patterns.csv"),
        accounts=accounts,
        vocabulary=read_vocabulary(seeds_dir / "vocabulary.toml"),
    )
    check_references(seeds_dir, reference)
    return reference


def read_intent_patterns(path: Path) -> tuple[IntentPattern, ...]:
    try:
        with path.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    except OSError as exc:
        raise SeedFileError(f"{path}: cannot read: {exc.strerror}") from exc
    patterns = []
    for line, row in enumerate(rows, start=2):
        try:
            patterns.append(
                IntentPattern(
                    pattern=row["pattern"],
                    intent=row["intent"],
                    sub_intent=row["sub_intent"],
                    confidence=float(row["confidence"]),
                    verified_by=row["verified_by"] or None,
                    source=row["source"],
                )
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise SeedFileError(f"{path}:{line}: {exc!r}") from exc
    return tuple(patterns)


def read_vocabulary(path: Path) -> Vocabulary:
    data = read_toml(path)
    intents = {
        name: build(path, IntentWords, words, ("shapes", "subjects")) for name, words in data.pop("intents", {}).items()
    }
    lists = {key: tuple(value) for key, value in data.items()}
    result: Vocabulary = build(path, Vocabulary, {**lists, "intents": intents})
    return result


def check_references(seeds_dir: Path, reference: Reference) -> None:
    """Names used in one file must be defined in another."""
    techniques = {t.name for t in reference.techniques}
    intents = set(reference.intents)
    accounts = {a.key for a in reference.accounts}
    problems = [
        f"techniques.toml: {t.name}: unknown intent {i!r}"
        for t in reference.techniques
        for i in t.intents
        if i not in intents
    ]
    for t in reference.templates:
        if t.technique not in techniques:
            problems.append(f"templates.toml: {t.name}: unknown technique {t.technique!r}")
        if t.intent not in intents:
            problems.append(f"templates.toml: {t.name}: unknown intent {t.intent!r}")
        if t.created_by is not None and t.created_by not in accounts:
            problems.append(f"templates.toml: {t.name}: unknown account {t.created_by!r}")
    for p in reference.intent_patterns:
        if p.intent not in intents:
            problems.append(f"intent_patterns.csv: {p.pattern.strip()!r}: unknown intent {p.intent!r}")
        if p.verified_by is not None and p.verified_by not in accounts:
            problems.append(f"intent_patterns.csv: {p.pattern.strip()!r}: unknown account {p.verified_by!r}")
    if len(accounts) != len(reference.accounts):
        problems.append("accounts.toml: two accounts share a key")
    if problems:
        raise SeedFileError(f"{seeds_dir}: " + "; ".join(problems))
