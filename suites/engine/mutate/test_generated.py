"""The generated mutant sets: generation from a small known catalog, the template mutation setting,
the campaign's confirmation of survivors with the whole suite, listed equivalents, and the
command line's bad input."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from harness.config import Settings
from harness.errors import ConfigurationError, MutationFailed
from harness.isolation.run import prepare_template
from harness.isolation.state import RunState
from harness.isolation.template import drop_template
from harness.migrate import apply_migrations
from harness.mutate.campaign import Campaign, Limits
from harness.mutate.catalog_mutants import catalog_mutants
from harness.mutate.generated import GeneratedMutant
from harness.mutate.queue import Failure, Task, TaskResult
from harness.mutate.results import RunRecord, Verdict
from harness.mutate.selection import IndexedTest, SuiteIndex, index_suites
from harness.mutate.sets import GeneratedRun, load_equivalents, touched_by
from harness.provision import Endpoints
from harness.provision.databases import create_database, drop_database
from harness.pytest_plugin import Database
from harness.report import build_report, write_report

ROOT = Path(__file__).resolve().parents[3]
SHOP = """
CREATE SCHEMA shop;
CREATE TABLE shop.customers (
    id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL UNIQUE CHECK (email LIKE '%@%'),
    vip   boolean NOT NULL DEFAULT false,
    tier  text NOT NULL DEFAULT 'basic' CHECK (tier IN ('basic', 'gold'))
);
CREATE TABLE shop.orders (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id uuid REFERENCES shop.customers (id) ON DELETE CASCADE,
    note        text,
    shipped     boolean NOT NULL DEFAULT false,
    updated_at  timestamptz
);
CREATE INDEX orders_open_idx ON shop.orders (customer_id) WHERE NOT shipped;
CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE OF note, shipped ON shop.orders
    FOR EACH ROW EXECUTE FUNCTION shop.touch();
ALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_mine ON shop.orders TO bp_app USING (customer_id IS NOT NULL) WITH CHECK (customer_id IS NOT NULL);
GRANT USAGE ON SCHEMA shop TO bp_app;
GRANT SELECT, INSERT (customer_id, note) ON shop.orders TO bp_app;
CREATE FUNCTION shop.count_orders() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT count(*) FROM shop.orders $$;
REVOKE EXECUTE ON FUNCTION shop.count_orders() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.count_orders() TO bp_app;
"""
EXPECTED = {
    "check:shop.customers.customers_email_check:drop", "check:shop.customers.customers_tier_check:drop",
    "not-null:shop.customers.email:drop", "unique:shop.customers.customers_email_key:drop",
    "foreign-key:shop.orders.orders_customer_id_fkey:on-delete-set-null",
    "foreign-key:shop.orders.orders_customer_id_fkey:on-delete-no-action",
    "default:shop.customers.vip:change", "default:shop.customers.tier:change", "default:shop.customers.id:drop",
    "trigger:shop.orders.orders_touch:drop", "trigger:shop.orders.orders_touch:without-insert",
    "trigger:shop.orders.orders_touch:without-update", "trigger:shop.orders.orders_touch:without-update-of-note",
    "policy:shop.orders.orders_mine:using-true", "policy:shop.orders.orders_mine:check-true",
    "policy:shop.orders.orders_mine:drop", "row-security:shop.orders:disable",
    "grant:shop.orders:all-to-bp_app", "grant:shop.orders.shipped:insert-to-bp_app",
    "revoke:shop.orders:select-from-bp_app", "revoke:shop.orders.note:insert-from-bp_app",
    "index:shop.orders.orders_open_idx:drop", "index:shop.orders.orders_open_idx:without-predicate",
    "function:shop.count_orders:reset-search-path", "function:shop.count_orders:execute-to-public",
    "revoke:shop.count_orders:execute-from-bp_app", "revoke:shop:usage-from-bp_app", "grant:shop:create-to-bp_app",
}  # fmt: skip


async def test_a_small_known_catalog_yields_a_mutant_of_every_kind_and_each_applies(
    blank_database: Database, tmp_path: Path
) -> None:
    (tmp_path / "0001_shop.up.sql").write_text(SHOP)
    (tmp_path / "0001_shop.down.sql").write_text("DROP SCHEMA shop CASCADE;")
    await apply_migrations(blank_database.dsn, tmp_path)
    mutants = await catalog_mutants(blank_database.dsn)
    ids = {m.id for m in mutants}
    assert ids >= EXPECTED, sorted(EXPECTED - ids)
    assert "not-null:shop.customers.id:drop" not in ids  # a primary key keeps its NOT NULL
    assert not [m.id for m in mutants if "harness" in m.object.split(".")[0]]  # never the migration runner's
    by_id = {m.id: m for m in mutants}
    assert "SET DEFAULT true" in by_id["default:shop.customers.vip:change"].sql
    assert "SET DEFAULT 'gold'" in by_id["default:shop.customers.tier:change"].sql
    assert "BEFORE UPDATE OF note, shipped ON" in by_id["trigger:shop.orders.orders_touch:without-insert"].sql
    conn = await asyncpg.connect(blank_database.dsn)
    try:
        for m in mutants:  # every statement is valid SQL against the catalog it came from
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(m.sql)
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


async def _constraint_exists(endpoints: Endpoints, template: str, name: str) -> bool:
    admin = await asyncpg.connect(endpoints.postgres)
    clone = f"{template[:40]}_c{secrets.token_hex(3)}"
    try:
        await create_database(admin, clone, template)
        conn = await asyncpg.connect(endpoints.postgres_dsn(clone))
        try:
            return bool(await conn.fetchval("SELECT count(*) FROM pg_constraint WHERE conname = $1", name))
        finally:
            await conn.close()
    finally:
        await drop_database(admin, clone)
        await admin.close()


async def test_a_template_mutation_is_in_a_template_of_its_own_and_in_its_fresh_clones(
    harness_settings: Settings, harness_run: RunState
) -> None:
    mutation = "ALTER TABLE auth.users DROP CONSTRAINT users_tier_check"
    mutated = harness_settings.model_copy(update={"template_mutation": mutation})
    name, built = await prepare_template(mutated, harness_run.endpoints)
    try:
        assert name == f"{harness_run.template}_m{hashlib.sha256(mutation.encode()).hexdigest()[:12]}"
        assert built
        assert not await _constraint_exists(harness_run.endpoints, name, "users_tier_check")
        assert await _constraint_exists(harness_run.endpoints, harness_run.template, "users_tier_check")
    finally:
        admin = await asyncpg.connect(harness_run.endpoints.postgres)
        try:
            await drop_template(admin, name)
        finally:
            await admin.close()


async def test_a_mutation_that_fails_names_its_template_and_leaves_nothing(
    harness_settings: Settings, harness_run: RunState
) -> None:
    mutated = harness_settings.model_copy(update={"template_mutation": "ALTER TABLE auth.nothing DROP COLUMN x"})
    with pytest.raises(MutationFailed, match=rf"template {harness_run.template}_m\w+: the mutation failed"):
        await prepare_template(mutated, harness_run.endpoints)
    admin = await asyncpg.connect(harness_run.endpoints.postgres)
    try:
        left = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", f"{harness_run.template}_m%")
    finally:
        await admin.close()
    assert left == []


@dataclass
class FakePool:
    """Slots that answer from a table: which tests each mutant's SQL fails (no servers)."""

    kills: dict[str, list[str]]  # mutation SQL → the tests it fails
    everything: list[str]
    size: int = 2
    exits: str = "never in any mutation"  # mutation SQL that cuts a session short before any test runs
    seen: list[Task] = field(default_factory=list)
    seq: int = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def run(self, tasks: list[Task], timeout: float, on_result: object = None) -> dict[int, TaskResult]:
        results = {}
        for task in tasks:
            self.seen.append(task)
            if self.exits in task.mutation:
                results[task.seq] = TaskResult(task.seq, task.id, error="the session would have ended: a fixture")
                continue
            failing = {t for sql, tests in self.kills.items() if sql and sql in task.mutation for t in tests}
            asked = task.tests if task.tests is not None else self.everything
            # as a slot runs them: a function id stands for each of its cases
            ran = [t for a in asked for t in self.everything if a in (t, t.partition("[")[0]) and t not in task.exclude]
            failed = [t for t in ran if t in failing][: 1 if task.stop == "first" else None]
            folders: dict[str, list[int]] = {}
            for t in ran:
                counts = folders.setdefault(t.split("::")[0].rpartition("/")[0], [0, 0])
                counts[0] += 1
                counts[1] += t in failed
            result = TaskResult(task.seq, task.id, [Failure(t, "failed") for t in failed], folders)
            results[task.seq] = result
            if callable(on_result):
                on_result(result)
        return results


def test_a_survivor_of_its_selection_is_judged_by_the_whole_suite_before_it_counts(tmp_path: Path) -> None:
    tests = {
        "suites/a/test_a.py": [IndexedTest("suites/a/test_a.py::test_alpha", "alpha")],
        "suites/b/test_b.py": [IndexedTest("suites/b/test_b.py::test_other", "nothing named")],
    }
    texts = {path: "\n".join(t.text for t in ts) for path, ts in tests.items()}
    index = SuiteIndex(texts, tests, kind_folders={"default": "suites/schema"})  # Settings.mutate_kind_folders

    def mutant(ident: str, sql: str) -> GeneratedMutant:
        return GeneratedMutant(ident, "sql", "check", ident, ident, sql=sql, mentions=("alpha",), key=(ident,))

    caught_first, caught_later, survivor = mutant("m:first", "S1"), mutant("m:later", "S2"), mutant("m:none", "S3")
    everything = [t.nodeid for ts in tests.values() for t in ts]
    pool = FakePool({"S1": ["suites/a/test_a.py::test_alpha"], "S2": ["suites/b/test_b.py::test_other"]}, everything)
    campaign = Campaign(pool, index, tmp_path, {}, Limits(sample=1, alone_rate=0.0))  # type: ignore[arg-type]
    verdicts = {v.id: v for v in campaign.judge([caught_first, caught_later, survivor])}
    assert (verdicts["m:first"].status, verdicts["m:first"].phase) == ("killed", "selection")
    assert (verdicts["m:later"].status, verdicts["m:later"].phase) == ("killed", "confirmation")
    assert verdicts["m:later"].killed_by == ["suites/b/test_b.py::test_other"]
    assert verdicts["m:later"].judged == {"suites/a": False, "suites/b": True}
    assert (verdicts["m:none"].status, verdicts["m:none"].judged) == (
        "survived",
        {"suites/a": False, "suites/b": False},
    )
    assert verdicts["m:none"].should_catch == ["suites/a", "suites/schema"]
    confirmation = [t for t in pool.seen if t.id.startswith("confirm:")]
    assert sorted(nodeid for t in confirmation for nodeid in t.tests or []) == sorted(everything)
    assert all("S2" in t.mutation and "S3" in t.mutation for t in confirmation)  # one batch, one suite run


def test_survivors_of_a_confirmation_cut_short_are_judged_again_apart(tmp_path: Path) -> None:
    """A mutant that ends every session it is in (a broken fixture) hid the test that kills its
    batch mate: the mate is judged again without it and killed; the breaker alone is an error."""
    tests = {"suites/b/test_b.py": [IndexedTest("suites/b/test_b.py::test_other", "nothing named")]}
    index = SuiteIndex({path: "\n".join(t.text for t in ts) for path, ts in tests.items()}, tests)

    def mutant(ident: str, sql: str) -> GeneratedMutant:
        return GeneratedMutant(ident, "sql", "check", ident, ident, sql=sql, mentions=("alpha",), key=(ident,))

    pool = FakePool({"HIDDEN": ["suites/b/test_b.py::test_other"]}, ["suites/b/test_b.py::test_other"], exits="BREAK")
    campaign = Campaign(pool, index, tmp_path, {}, Limits(sample=1, alone_rate=2.0))  # type: ignore[arg-type]
    verdicts = {v.id: v for v in campaign.judge([mutant("m:breaker", "BREAK"), mutant("m:hidden", "HIDDEN")])}
    assert (verdicts["m:hidden"].status, verdicts["m:hidden"].killed_by) == (
        "killed",
        ["suites/b/test_b.py::test_other"],
    )
    assert verdicts["m:breaker"].status == "error"
    assert "session would have ended" in verdicts["m:breaker"].evidence


def test_a_failing_batch_is_settled_member_by_member_and_its_siblings_need_no_suite_run_of_their_own(
    tmp_path: Path,
) -> None:
    """Ten tables, two mistakes about one column of each (they conflict: one batch cannot hold
    both). The batch of one mistake per table fails the case of each table; each member, then
    each sibling left out, is judged alone by its own table's case (never another table's): the
    whole suite runs once, and one task each settles the mutants."""
    path, function = "suites/schema/test_rows.py", "suites/schema/test_rows.py::test_row"
    cases = [f"{function}[s.t{n}]" for n in range(10)]
    tests = {path: [IndexedTest(function, "INSERT INTO t")]}
    index = SuiteIndex({path: "INSERT INTO t"}, tests)
    index.learn({case: ["insert"] for case in cases}, dict.fromkeys(cases, 0.1))

    def mutant(n: int, change: str) -> GeneratedMutant:
        obj = f"s.t{n}.c"
        return GeneratedMutant(f"default:{obj}:{change}", "sql", "default", obj, obj, sql=f"{change}{n};",
                               mentions=(f"t{n}.c",), key=(obj,))  # fmt: skip

    mutants = [mutant(n, change) for n in range(10) for change in ("drop", "change")]
    pool = FakePool({m.sql: [f"{function}[s.t{m.object.split('.')[1][1:]}]"] for m in mutants}, cases)
    campaign = Campaign(pool, index, tmp_path, {}, Limits(sample=1, alone_rate=2.0))  # type: ignore[arg-type]
    verdicts = {v.id: v for v in campaign.judge(mutants)}
    assert {m.id: (verdicts[m.id].status, verdicts[m.id].killed_by) for m in mutants} == {
        m.id: ("killed", [f"{function}[s.t{m.object.split('.')[1][1:]}]"]) for m in mutants
    }
    whole_suite = {t.id for t in pool.seen if t.id.startswith("confirm:")}
    settling = [t for t in pool.seen if t.id.startswith(("alone:", "settle:"))]
    assert len(whole_suite) == 1
    assert len(settling) == 19  # the 20th was the kind's sample, killed at selection
    assert all(t.tests == [f"{function}[s.t{''.join(filter(str.isdigit, t.mutation))}]"] for t in settling)


def test_a_test_is_asked_about_the_objects_named_in_the_module_data_it_reads(tmp_path: Path) -> None:
    folder = tmp_path / "suites" / "schema"
    folder.mkdir(parents=True)
    (folder / "test_idx.py").write_text(
        'SERVES = {"auth.users_tier_idx": "SELECT 1"}\n\n\n'
        "def plans(query):\n    return query\n\n\n"
        "def test_each_index_serves_its_query():\n    assert all(plans(q) for q in SERVES.values())\n\n\n"
        "def test_other():\n    assert True\n"
    )
    index = index_suites(tmp_path)
    dropped = GeneratedMutant("index:auth.users_tier_idx:drop", "sql", "index", "auth.users_tier_idx", "",
                              mentions=("users_tier_idx",), key=("x",))  # fmt: skip
    assert index.select(dropped) == ["suites/schema/test_idx.py::test_each_index_serves_its_query"]


def test_the_case_that_names_the_object_is_asked_first_even_when_its_function_exceeds_the_budget() -> None:
    function = "suites/schema/test_checks.py::test_refused"
    tests = {"suites/schema/test_checks.py": [IndexedTest(function, "INSERT INTO t")]}
    index = SuiteIndex({"suites/schema/test_checks.py": "INSERT INTO t"}, tests, budget=1.0)
    cases = [f"{function}[s.t.c{n}]" for n in range(40)]
    index.learn({case: ["insert", "s", "t"] for case in cases}, dict.fromkeys(cases, 0.4))
    check = GeneratedMutant("check:s.t.c17:drop", "sql", "check", "s.t.c17", "", mentions=("c17", "s.t"), key=("x",))
    assert index.select(check)[0] == f"{function}[s.t.c17]"


def test_equivalents_need_a_reason_each(tmp_path: Path) -> None:
    listed = tmp_path / "equivalents.toml"
    listed.write_text('[equivalent]\n"acl:x:remove" = "the user starts off anyway"\n')
    assert load_equivalents(listed) == {"acl:x:remove": "the user starts off anyway"}
    listed.write_text('[equivalent]\n"acl:x:remove" = "  "\n')
    with pytest.raises(ConfigurationError, match="acl:x:remove needs a reason"):
        load_equivalents(listed)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--only", "no-such-mutant"], "unknown mutant(s) no-such-mutant"),
        (["--slots", "0"], "--slots"),
        (["--hand", "--changed", "--base", "no-such-revision"], "git diff no-such-revision"),
    ],
)
def test_bad_input_to_mutate_is_one_line(args: list[str], names: str) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("harness")), "mutate", *args], cwd=ROOT, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert names in lines[0]
    assert "Traceback" not in done.stderr


def test_the_report_shows_the_score_per_source_and_folder_and_each_survivor(tmp_path: Path) -> None:
    verdicts = [
        Verdict("weaken-tier-check", "hand", "constraint", "0002_auth.up.sql", "admit platinum", "killed",
                killed_by=["suites/schema/test_constraints.py::test_x"], judged={"suites/schema": True}),
        Verdict("not-null:auth.users.email:drop", "sql", "not-null", "auth.users.email", "admit NULL in email",
                "survived", judged={"suites/schema": False, "suites/crud": False}, should_catch=["suites/crud"]),
        Verdict("acl:default.off:remove", "redis", "acl", "default.off", "without off", "equivalent",
                evidence="a user loaded from an ACL file starts off"),
    ]  # fmt: skip
    python = {"total": {"killed": 3, "judged": 4, "equivalent": 0}, "by_folder": {"suites/crud": {"killed": 3,
              "judged": 4}}, "survivors": [{"name": "betterprompts_db.data.x__mutmut_1",
              "path": "betterprompts_db/data/x.py", "line": 7, "change": "-a\n+b",
              "tests": ["suites/crud/test_auth.py::test_y"]}]}  # fmt: skip
    record = RunRecord("harness mutate --all", "2026-01-01T00:00:00", 12.0, 3, verdicts, python=python)
    assert record.folder_scores() == {"suites/crud": (3, 5), "suites/schema": (1, 2)}
    assert [v.id for v in record.survivors()] == ["not-null:auth.users.email:drop", "betterprompts_db.data.x__mutmut_1"]
    record.write(tmp_path)
    page = write_report(build_report(tmp_path)).read_text()
    assert "Mutation score" in page
    assert "not-null:auth.users.email:drop" in page
    assert "betterprompts_db.data.x__mutmut_1" in page
    assert "a user loaded from an ACL file starts off" in page
    assert "suites/crud" in page


def test_changed_keeps_the_objects_a_branch_touched() -> None:
    email = GeneratedMutant("not-null:auth.users.email:drop", "sql", "not-null", "auth.users.email", "d", key=("k",))
    ttl = GeneratedMutant("ttl:session:x10", "redis", "ttl", "session", "d", artifact="redis_keyspace")
    text = "ALTER TABLE auth.users ADD COLUMN nickname text;\nCREATE INDEX ON auth.users (lower(email));"
    assert touched_by(email, ["schema/postgres/migrations/0009_x.up.sql"], text)
    assert not touched_by(email, ["schema/postgres/migrations/0009_x.up.sql"], "CREATE TABLE auth.sessions ();")
    assert touched_by(ttl, ["schema/redis/keyspace.toml"], "")
    assert not touched_by(ttl, ["schema/redis/users.acl"], "")


def test_changed_with_no_artifact_touched_judges_nothing_and_starts_no_server(
    harness_settings: Settings, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    run = GeneratedRun(ROOT, harness_settings.model_copy(update={"state_dir": state_dir}), changed="HEAD")
    record = run.run()
    assert record.verdicts == []
    assert record.notes == ["nothing to judge: no migration and no Redis artifact changed since HEAD"]
    assert not state_dir.exists(), "no servers, no run directory"
