"""A generated run end to end, judged by the BetterPrompts schema suite: a slot of its own,
listed equivalents counted, nothing left behind (suites/engine/mutate/test_generated.py: the
parts of the generated sets that need no domain)."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import pytest

from harness.config import Settings
from harness.mutate.sets import GeneratedRun
from suites.engine.provision.remains import purge

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(600)
def test_a_generated_run_judges_with_a_slot_of_its_own_counts_equivalents_and_leaves_nothing(
    harness_settings: Settings, tmp_path: Path
) -> None:
    if harness_settings.backend == "external":
        pytest.skip("the generated sets start servers of their own")
    state_dir = harness_settings.state_dir.parent / f"harness-test-{secrets.token_hex(4)}"
    listed = tmp_path / "equivalents.toml"
    listed.write_text('[equivalent]\n"index:auth.users.users_tier_created_at_idx:drop" = "a test of ours: listed"\n')
    only = [
        "check:auth.users.users_tier_check:drop", "index:prompts.embeddings.embeddings_embedding_hnsw_idx:drop",
        "index:auth.users.users_tier_created_at_idx:drop", "index:auth.sessions.sessions_expires_at_idx:drop",
    ]  # fmt: skip
    run = GeneratedRun(
        ROOT, harness_settings.model_copy(update={"state_dir": state_dir}), sources=("sql",), only=only, slots=1,
        paths=["suites/betterprompts/schema/test_constraints.py"], equivalents=listed,
    )  # fmt: skip
    try:
        record = run.run()
        verdicts = {v.id: v for v in record.verdicts}
        assert verdicts["check:auth.users.users_tier_check:drop"].status == "killed"
        assert "tier" in verdicts["check:auth.users.users_tier_check:drop"].evidence
        assert verdicts["index:auth.users.users_tier_created_at_idx:drop"].status == "equivalent"
        assert verdicts["index:auth.users.users_tier_created_at_idx:drop"].evidence == "a test of ours: listed"
        assert verdicts["index:auth.sessions.sessions_expires_at_idx:drop"].status in ("killed", "survived")
        assert record.scores()["sql"].equivalent == 1
        assert not list(state_dir.glob("mutate-*")), "the run's servers and files are gone"
        assert stat.S_IMODE(state_dir.stat().st_mode) & 0o066 == 0, "the state directory is private, as `up` makes it"
    finally:
        purge(state_dir)
