"""Secrets are stored the way the schema promises: bcrypt at the configured cost, sha256 for tokens."""

from __future__ import annotations

import re
from pathlib import Path

import bcrypt
import pytest

from betterprompts_db.data.postgres.auth import token_hash
from betterprompts_db.seed import build_dataset, hash_password, load_reference, seed, verify_password
from betterprompts_db.seed.passwords import BCRYPT_MAX_BYTES, salt_for
from betterprompts_db.settings import BetterPromptsSettings
from harness.config import Settings
from harness.errors import ConfigurationError
from harness.plugins import plugin_settings, seed_of
from harness.pytest_plugin import Database
from suites.betterprompts.seeds.database import dump_data, fetch


async def test_named_accounts_log_in_with_their_documented_passwords_at_the_configured_cost(
    fresh_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=5)
    for account in load_reference(seeds_dir).accounts:
        rows = await fetch(fresh_database.dsn, "SELECT password_hash FROM auth.find_login($1)", account.email.upper())
        assert len(rows) == 1, account.email
        stored = rows[0]["password_hash"]
        assert stored.startswith("$2b$05$")
        assert verify_password(account.password, stored)
        assert not verify_password(account.password + "x", stored)


def test_bcrypt_cost_defaults_to_12_under_the_project_file_under_harness_bcrypt_cost(
    harness_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text("[tool.harness.betterprompts]\nbcrypt_cost = 5\n")
    plain, configured = (harness_settings.model_copy(update={"project_file": p}) for p in (None, project))

    def cost(settings: Settings) -> int:
        return plugin_settings(settings, BetterPromptsSettings).bcrypt_cost

    monkeypatch.delenv("HARNESS_BCRYPT_COST", raising=False)
    assert (cost(plain), cost(configured)) == (12, 5)
    monkeypatch.setenv("HARNESS_BCRYPT_COST", "6")
    assert (cost(plain), cost(configured)) == (6, 6)


async def test_the_plugins_seed_hashes_at_the_cost_of_the_project_file(
    fresh_database: Database,
    harness_settings: Settings,
    seeds_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text("[tool.harness.betterprompts]\nbcrypt_cost = 5\n")
    monkeypatch.delenv("HARNESS_BCRYPT_COST", raising=False)
    settings = harness_settings.model_copy(update={"project_file": project, "seeds_dir": seeds_dir})
    await seed_of(settings, "minimal", "up_seed").load(fresh_database.dsn)
    rows = await fetch(fresh_database.dsn, "SELECT DISTINCT left(password_hash, 7) AS cost FROM auth.users")
    assert [row["cost"] for row in rows] == ["$2b$05$"]


def test_each_distinct_password_is_hashed_once_and_shared(seeds_dir: Path) -> None:
    users = build_dataset(seeds_dir, "demo", cost=4).table("auth.users")
    hashes = [row.password_hash for row in users.rows]
    passwords = {a.password for a in load_reference(seeds_dir).accounts}
    generated = 3  # profiles.toml: generated_passwords
    assert len(set(hashes)) == len(passwords) + generated < len(hashes)


def test_a_seeded_salt_is_bcrypts_22_characters_carrying_the_first_16_bytes_of_its_entropy() -> None:
    salts = [salt_for(7, bytes([n]) * 16 + bytes([255 - n]) * 16) for n in range(0, 256, 17)]
    for salt in salts:
        assert re.fullmatch(rb"\$2b\$07\$[./A-Za-z0-9]{22}", salt), salt
        assert verify_password("p", bcrypt.hashpw(b"p", salt).decode())
    assert len(set(salts)) == len(salts)
    assert salt_for(7, b"\x01" * 16 + b"\x02" * 16) == salt_for(7, b"\x01" * 16 + b"\x03" * 16)


def test_hash_password_takes_bcrypts_whole_72_bytes_and_refuses_one_more() -> None:
    longest = "\u00e9" * (BCRYPT_MAX_BYTES // 2)  # two bytes each in UTF-8
    assert verify_password(longest, hash_password(longest, cost=4))
    with pytest.raises(ConfigurationError, match="73 bytes"):
        hash_password(longest + "x", cost=4)


async def test_no_token_key_or_password_is_stored_in_plaintext(fresh_database: Database, seeds_dir: Path) -> None:
    await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=4)
    dump = await dump_data(fresh_database.dsn)
    accounts = load_reference(seeds_dir).accounts
    secrets = [s for a in accounts for s in (a.password, a.session_token, a.api_key, a.verification_token) if s]
    assert len(secrets) > len(accounts)
    assert [s for s in secrets if s in dump] == []
    hashes = await fetch(
        fresh_database.dsn,
        """SELECT token_hash AS h FROM auth.sessions UNION ALL SELECT refresh_token_hash FROM auth.sessions
           UNION ALL SELECT key_hash FROM auth.api_keys
           UNION ALL SELECT verification_token_hash FROM auth.users WHERE verification_token_hash IS NOT NULL""",
    )
    assert hashes
    assert all(re.fullmatch("[0-9a-f]{64}", r["h"]) for r in hashes)
    for account in accounts:
        if account.session_token:
            token = token_hash(account.session_token)
            session = await fetch(fresh_database.dsn, "SELECT revoked_at FROM auth.find_session($1)", token)
            assert session == [(None,)], account.key
        if account.api_key:
            key = await fetch(
                fresh_database.dsn, "SELECT scopes FROM auth.find_api_key($1)", token_hash(account.api_key)
            )
            assert key[0]["scopes"] == list(account.api_scopes), account.key


async def test_an_unverified_account_is_verified_with_its_documented_token(
    fresh_database: Database, seeds_dir: Path
) -> None:
    await seed(fresh_database.dsn, "minimal", seeds_dir=seeds_dir, bcrypt_cost=4)
    pending = [(a, a.verification_token) for a in load_reference(seeds_dir).accounts if a.verification_token]
    assert pending
    for account, token in pending:
        rows = await fetch(
            fresh_database.dsn,
            "SELECT verification_token_hash, verification_expires_at > now() AS open, is_verified FROM auth.users"
            " WHERE email = $1",
            account.email,
        )
        assert rows == [(token_hash(token), True, False)], account.key
