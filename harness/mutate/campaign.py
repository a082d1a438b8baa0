"""Judging generated mutants fast: selection first, then the whole suite for every survivor.

1. Baseline: every judging test runs once without a mutant, traced (the SQL each runs, whether it
   uses Redis, how long it takes); a test that fails there judges nothing (the results list it).
2. Selection: each mutant alone, on a template of its own, against the tests that mention its
   object (`selection`), within a time budget, stopping at the first failure: a failure kills it.
   Each kind is sampled first; a kind whose sample mostly survives skips this step.
3. Confirmation: the largest batch of the rest that touch different objects runs the whole
   judging suite at once (split over the slots). A batch that passes confirms every member a
   survivor. A failing one is settled: each member alone against the failed tests that speak of
   it (stopping at the first failure: killed); then the others together against every failed
   test, halved while they fail. The mutants left out of the batch (other mistakes about a
   member's object) are first judged alone by its failed tests the same way; what that leaves
   forms the next batch. Batched mutants can only hide each other (a survivor too many, never a
   kill too many).
4. Recheck: every test that killed something runs once more without any mutant; a kill that only
   such a failing test made is an error (flaky evidence), not a catch.

Judging tests are those that can see the change: for SQL mutants the tests whose fixtures reach
the template, but not those that run the migrations' downs over it (they fail on any drift, not on
the mistake; the migration suites re-migrate blank databases and never see it at all); for Redis
mutants the tests that send Redis a command, start servers of their own or read a Redis artifact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.mutate.generated import GeneratedMutant, apply_edits
from harness.mutate.queue import Channel, Task, TaskResult
from harness.mutate.results import Status, Verdict
from harness.mutate.selection import SuiteIndex, folders_of
from harness.mutate.slots import SlotPool

START_UP = "harness:start-up"  # a mutant the servers refuse to start with is caught before any test


@dataclass(frozen=True)
class Limits:
    batch_size: int = 400
    task_timeout: float = 900.0
    sample: int = 6  # mutants of each kind judged alone first
    alone_rate: float = 0.5  # a kind whose sample was killed at least this often is judged alone
    settle_budget: float = 20.0  # seconds (at the baseline) of failed tests each member is judged alone by


class Campaign:
    def __init__(
        self, pool: SlotPool, index: SuiteIndex, artifacts: Path, bases: Mapping[str, str], limits: Limits = Limits(),
        progress: Callable[[Verdict], None] = lambda verdict: None, log: Callable[[str], None] = lambda line: None,
    ) -> None:  # fmt: skip
        self.pool = pool
        self.index = index
        self.artifacts = artifacts
        self.bases = bases  # a Redis artifact's shipped text, by settings field
        self.limits = limits
        self.progress = progress
        self.log = log
        self.excluded: list[str] = []
        self.phases: dict[str, float] = {}  # phase → wall seconds
        self.selection_seconds: dict[str, float] = {}
        self._relevant: dict[str, dict[str, int]] = {}
        self.migrators = index.migrators()
        self.redis_judges: list[str] | None = None  # known once the Redis baseline has run
        self.file_seconds: dict[str, float] = {}

    # -- tasks ---------------------------------------------------------------------------------
    def _task(self, ident: str, mutants: list[GeneratedMutant], **fields: Any) -> Task:
        """A task for `mutants` applied together: their SQL joined, each Redis artifact they edit
        written once with all their edits, the settings pointed at the copies."""
        env: dict[str, str] = {}
        for artifact in sorted({m.artifact for m in mutants if m.artifact is not None}):
            edits = [m for m in mutants if m.artifact == artifact]
            path = self.artifacts / f"{self.pool.next_seq()}-{artifact}"
            path.write_text(apply_edits(self.bases[artifact], edits))
            env[f"HARNESS_{artifact.upper()}"] = str(path)
            if artifact != "redis_keyspace":
                env["HARNESS_REUSE"] = "false"  # the server reads its config and ACL at start
        mutation = ";\n".join(m.sql for m in mutants if m.sql)
        exclude = self.excluded + (self.migrators if mutation else [])
        return Task(self.pool.next_seq(), ident, mutation=mutation, env=env, exclude=exclude, **fields)

    @staticmethod
    def channel(mutants: list[GeneratedMutant]) -> Channel:
        return "redis" if any(m.artifact is not None for m in mutants) else "template"

    # -- 1. baseline ---------------------------------------------------------------------------
    def baseline(self, channels: list[Channel]) -> list[str]:
        """Run every judging test of `channels` once; return (and exclude from now on) those that fail."""
        judging: Channel = channels[0] if len(channels) == 1 else "judges"
        tasks = [
            Task(self.pool.next_seq(), f"baseline-{judging}", tests=part, channel=judging, stop="never", trace=True)
            for part in self._parts()
        ]
        clock = time.monotonic()
        results = self.pool.run(tasks, self.limits.task_timeout)
        self.phases["baseline"] = time.monotonic() - clock
        failing = sorted({f.nodeid for r in results.values() for f in r.failures})
        for task in tasks:
            result = results[task.seq]
            self.index.learn(result.traces, result.test_seconds)
            if "redis" in channels:
                self.redis_judges = sorted(
                    {*(self.redis_judges or []), *result.redis_users, *self.index.redis_readers()}
                )
            for path, seconds in result.file_seconds.items():
                self.file_seconds[path] = max(seconds, self.file_seconds.get(path, 0.0))
        self.excluded = failing
        return failing

    def _parts(self, channel: Channel = "template") -> list[list[str]]:
        """The judging tests split into one part per slot, balanced by the baseline's time per file.
        For Redis, after the baseline: the tests that sent Redis a command, start servers of their
        own, or read a Redis artifact."""
        by_file = {path: [t.nodeid for t in tests] for path, tests in self.index.tests.items()}
        if channel == "redis" and self.redis_judges is not None:
            by_file = {}
            for nodeid in self.redis_judges:
                by_file.setdefault(nodeid.split("::")[0], []).append(nodeid)
        parts: list[list[str]] = [[] for _ in range(self.pool.size)]
        loads = [0.0] * self.pool.size

        def cost(path: str) -> float:
            return self.file_seconds.get(path, 0.2 * len(by_file[path]))

        for path in sorted(by_file, key=lambda p: -cost(p)):
            slot = loads.index(min(loads))
            loads[slot] += cost(path)
            parts[slot] += by_file[path]
        return [p for p in parts if p]

    # -- 2. selection --------------------------------------------------------------------------
    def judge(self, mutants: list[GeneratedMutant]) -> list[Verdict]:
        """Selection for a sample of each kind, then alone for the kinds the sample shows are usually
        killed (a quick kill each); the rest go straight to the batched confirmation, where a
        batch of mostly survivors costs one run of the suite instead of one selection each."""
        verdicts: dict[str, Verdict] = {}
        selected = {m.id: self.index.select(m) for m in mutants}
        by_id = {m.id: m for m in mutants}

        def record(result: TaskResult) -> None:
            m = by_id[result.id]
            self.selection_seconds[m.id] = result.seconds
            verdict = self._selection_verdict(m, result, selected[m.id])
            if verdict is not None:
                verdicts[m.id] = verdict
                self.progress(verdict)

        def alone(chosen: list[GeneratedMutant]) -> None:
            tasks = [
                self._task(m.id, [m], tests=selected[m.id], channel=self.channel([m]), stop="first")
                for m in chosen
                if selected[m.id]
            ]
            self.pool.run(tasks, self.limits.task_timeout, record)

        clock = time.monotonic()
        kinds: dict[str, list[GeneratedMutant]] = {}
        for m in mutants:
            kinds.setdefault(m.kind, []).append(m)
        sample = {m.id for group in kinds.values() for m in spread(group, self.limits.sample)}
        alone([m for m in mutants if m.id in sample])
        rates = {
            kind: sum(verdicts.get(m.id) is not None and verdicts[m.id].status == "killed" for m in sampled)
            / len(sampled)
            for kind, group in kinds.items()
            if (sampled := [m for m in group if m.id in sample])
        }
        self.log("selection: killed in each kind's sample: " + ", ".join(f"{k} {r:.0%}" for k, r in rates.items()))
        alone([m for m in mutants if m.id not in sample and (m.artifact or rates[m.kind] >= self.limits.alone_rate)])
        self.phases["selection"] = time.monotonic() - clock
        candidates = [m for m in mutants if m.id not in verdicts]
        clock = time.monotonic()
        confirmed = self.confirm(candidates, selected)
        self.phases["confirmation"] = time.monotonic() - clock
        for verdict in confirmed:
            verdicts[verdict.id] = verdict
            self.progress(verdict)
        clock = time.monotonic()
        self.recheck(list(verdicts.values()), {m.id: m for m in mutants})
        self.phases["recheck"] = time.monotonic() - clock
        return [verdicts[m.id] for m in mutants]

    def recheck(self, verdicts: list[Verdict], by_id: dict[str, GeneratedMutant]) -> None:
        """Every test that killed a mutant runs once more without any mutant: a kill whose every
        failed test fails there too was the test's doing (a flaky or broken test), not the
        mutant's, and is marked an error instead (never silently counted as caught)."""
        killers = sorted({t for v in verdicts if v.status == "killed" for t in v.killed_by if "::" in t})
        if not killers:
            return
        channels = {self.channel([by_id[v.id]]) for v in verdicts if v.status == "killed"}
        channel: Channel = channels.pop() if len(channels) == 1 else "judges"
        size = -(-len(killers) // self.pool.size)
        tasks = [
            Task(self.pool.next_seq(), "recheck", tests=killers[i : i + size], channel=channel, stop="never")
            for i in range(0, len(killers), size)
        ]
        failing = {f.nodeid for r in self.pool.run(tasks, self.limits.task_timeout).values() for f in r.failures}
        for v in verdicts:
            if v.status == "killed" and v.killed_by and all(t in failing for t in v.killed_by):
                v.status = "error"
                v.evidence = f"flaky: {', '.join(v.killed_by)} also fails without any mutant"
                self.log(f"recheck: {v.id} was killed only by tests that fail without it: {', '.join(v.killed_by)}")

    def _verdict(self, m: GeneratedMutant, selected: list[str], status: Status, **fields: Any) -> Verdict:
        should_catch = self._should_catch(m)
        return Verdict(m.id, m.source, m.kind, m.object, m.description, status, should_catch=should_catch, **fields)

    def _selection_verdict(self, m: GeneratedMutant, result: TaskResult, selected: list[str]) -> Verdict | None:
        if result.error is not None:
            evidence = result.error[:300]
            if m.artifact is not None and "Provision" in result.error:
                judged = {START_UP: True}
                return self._verdict(m, selected, "killed", evidence=evidence, phase="start-up", killed_by=[START_UP],
                                     judged=judged, seconds=result.seconds)  # fmt: skip
            return self._verdict(m, selected, "error", evidence=evidence, phase="selection", seconds=result.seconds)
        if not result.failures:
            return None
        judged = {folder: bool(failed) for folder, (ran, failed) in result.folders.items() if ran}
        for folder in result.unfinished:
            judged.pop(folder, None)
        return self._killed(m, result, selected, judged, "selection")

    def _killed(
        self, m: GeneratedMutant, result: TaskResult, selected: list[str], judged: dict[str, bool], phase: str
    ) -> Verdict:
        first = result.failures[0]
        return self._verdict(
            m, selected, "killed", evidence=f"{first.nodeid}: {first.message}"[:400], phase=phase, judged=judged,
            killed_by=[f.nodeid for f in result.failures], seconds=result.seconds,
        )  # fmt: skip

    # -- 3. confirmation -----------------------------------------------------------------------
    def confirm(self, candidates: list[GeneratedMutant], selected: dict[str, list[str]]) -> list[Verdict]:
        """The largest batch of mutants that touch different objects runs the whole suite; the rest
        (each conflicts with a member: another mistake about the same object) are first judged
        alone by the tests that failed there and speak of them, and whatever that leaves forms
        the next batch."""
        verdicts: list[Verdict] = []
        while candidates:
            batch = pack(candidates, self.limits.batch_size)[0]
            found, failing = self._confirm_batch(batch, selected)
            verdicts += found
            candidates = [m for m in candidates if m not in batch]
            if failing and candidates:
                killed = self._alone(candidates, failing)
                verdicts += [self._confirmed_kill(m, result, selected, []) for m, result in killed.items()]
                candidates = [m for m in candidates if m not in killed]
        return verdicts

    def _confirm_batch(
        self, batch: list[GeneratedMutant], selected: dict[str, list[str]]
    ) -> tuple[list[Verdict], list[str]]:
        """The batch's verdicts, and the tests that failed with the whole batch applied."""
        channel = self.channel(batch)
        ident = f"confirm:{batch[0].id}+{len(batch) - 1}"
        tasks = [self._task(ident, batch, tests=part, channel=channel, stop="never") for part in self._parts(channel)]
        clock = time.monotonic()
        results = list(self.pool.run(tasks, self.limits.task_timeout).values())
        failing = sorted({f.nodeid for r in results for f in r.failures})
        took = time.monotonic() - clock
        self.log(f"confirmation: {len(batch)} mutants at once, the whole suite in {took:.0f} s: {len(failing)} failed")
        everyone = sorted({folder for r in results for folder, (ran, _) in r.folders.items() if ran})
        cut_short = [r.error or "unfinished: " + ", ".join(r.unfinished) for r in results if r.error or r.unfinished]
        clock = time.monotonic()
        killed, survived, unsettled = self.settle(batch, failing) if failing else ({}, list(batch), [])
        if failing:
            self.log(f"confirmation: {len(killed)} of them fail alone, found in {time.monotonic() - clock:.0f} s")
        # A part of the suite that did not run to its end (a session cut short, a mutant that broke a
        # fixture for every later test) judged nobody: its survivors are confirmed again, apart.
        again = unsettled + (survived if cut_short else [])
        survived = [m for m in survived if m not in again]
        verdicts = self._reconfirm(again, batch, selected, (cut_short or ["a settling run errored"])[0])
        nobody = dict.fromkeys(everyone, False)
        verdicts += [
            self._verdict(m, selected[m.id], "survived", judged=nobody, phase="confirmation",
                          seconds=self.selection_seconds.get(m.id, 0.0))
            for m in survived
        ]  # fmt: skip
        verdicts += [self._confirmed_kill(m, result, selected, everyone) for m, result in killed.items()]
        return verdicts, failing

    def _confirmed_kill(
        self, m: GeneratedMutant, result: TaskResult, selected: dict[str, list[str]], everyone: list[str]
    ) -> Verdict:
        folders = {f.nodeid.split("::")[0].rpartition("/")[0] for f in result.failures}
        judged = {folder: folder in folders for folder in everyone} | dict.fromkeys(folders, True)
        return self._killed(m, result, selected[m.id], judged, "confirmation")

    def _reconfirm(
        self, again: list[GeneratedMutant], batch: list[GeneratedMutant], selected: dict[str, list[str]], why: str
    ) -> list[Verdict]:
        """`again` judged by the whole suite once more, in halves of the batch they came from (a
        mutant alone whose confirmation is cut short again is an error, never a survivor)."""
        if not again:
            return []
        if len(batch) == 1:
            return [self._verdict(m, selected[m.id], "error", evidence=why[:300], phase="confirmation") for m in again]
        self.log(f"confirmation: {len(again)} mutants judged again apart ({why[:120]})")
        groups = [again] if len(again) < len(batch) else halves(again)
        return [verdict for group in groups for verdict in self._confirm_batch(group, selected)[0]]

    def settle(
        self, batch: list[GeneratedMutant], failing: list[str]
    ) -> tuple[dict[GeneratedMutant, TaskResult], list[GeneratedMutant], list[GeneratedMutant]]:
        """The members that fail `failing` alone. First each member alone against the failed tests
        that speak of it (a batch's failures are mostly its members' own: one task each beats
        halving); then the rest together against every failed test, halved while they fail (a
        member whose failure its tests do not name). Also returns the members a settling run
        errored for without a failure (unsettled: not judged by those tests)."""
        killed = self._alone(batch, failing)
        unsettled: list[GeneratedMutant] = []
        survived: list[GeneratedMutant] = []
        rest = [m for m in batch if m not in killed]
        frontier = [rest] if rest else []
        while frontier:
            tasks = [
                (self._task(f"settle:{g[0].id}+{len(g) - 1}", g, tests=failing, channel=self.channel(g)), g)
                for g in frontier
            ]
            results = self.pool.run([task for task, _ in tasks], self.limits.task_timeout)
            frontier = []
            for task, group in tasks:
                result = results[task.seq]
                if not result.failures:
                    (unsettled if result.error else survived).extend(group)
                elif len(group) == 1:
                    killed[group[0]] = result
                else:
                    frontier += halves(group)
        return killed, survived, unsettled

    def _alone(self, mutants: list[GeneratedMutant], failing: list[str]) -> dict[GeneratedMutant, TaskResult]:
        """Each of `mutants` alone against the tests of `failing` that speak of it, most specific
        first, within the settling budget, stopping at the first failure: those that fail one."""
        tasks = []
        for m in mutants:
            tests = self._suspected(m, failing)
            if tests:
                tasks.append((self._task(f"alone:{m.id}", [m], tests=tests, channel=self.channel([m])), m))
        done = self.pool.run([task for task, _ in tasks], self.limits.task_timeout)
        return {m: done[task.seq] for task, m in tasks if done[task.seq].failures}

    def _suspected(self, m: GeneratedMutant, failing: list[str]) -> list[str]:
        """The failed tests that speak of `m` (as `SuiteIndex.rank` orders them), quickest first
        within a rank, up to the settling budget; never a case about another table."""
        if m.id not in self._relevant:
            self._relevant[m.id] = self.index.relevant(m)
        ranked = {t: r for t in failing if (r := self.index.rank(self._relevant[m.id], t, m.object)) and r[1] < 3}
        ordered = sorted(ranked, key=lambda t: (*ranked[t], self.index.seconds.get(t, 0.5)))
        return self.index.within(ordered, self.limits.settle_budget)

    def _should_catch(self, m: GeneratedMutant) -> list[str]:
        """The folders of the tests that mention the object most specifically, and the kind's folder."""
        ranks = self._relevant.get(m.id) or self.index.relevant(m)
        best = min((r for r in ranks.values() if r > 0), default=None)
        folders = folders_of([t for t, r in ranks.items() if r == best]) if best is not None else []
        kind_folder = self.index.kind_folder(m.kind)
        return [*folders[:3], *([kind_folder] if kind_folder is not None and kind_folder not in folders[:3] else [])]


def spread(group: list[GeneratedMutant], count: int) -> list[GeneratedMutant]:
    """`count` members spread evenly over `group` (all of a small one)."""
    if len(group) <= count:
        return group
    step = len(group) / count
    return [group[int(i * step)] for i in range(count)]


def halves(group: list[GeneratedMutant]) -> list[list[GeneratedMutant]]:
    if len(group) == 1:
        return [group]
    middle = len(group) // 2
    return [group[:middle], group[middle:]]


def pack(mutants: list[GeneratedMutant], size: int) -> list[list[GeneratedMutant]]:
    """Batches of at most `size` mutants, no two of which conflict (first fit, in the given order)."""
    batches: list[list[GeneratedMutant]] = []
    for m in mutants:
        for batch in batches:
            if len(batch) < size and not any(m.conflicts_with(other) for other in batch):
                batch.append(m)
                break
        else:
            batches.append([m])
    return batches
