"""harness beside its peers on the same workload, binaries and settings (issue #15, part 5).

    pytest -p no:xdist suites/betterprompts/benchmarks/test_peers.py    (full pass only: ~30 min, busy 2 cores)

Each tool runs the same generated suite as a pytest process of its own (`peers/`): 200 tests that
each need the BetterPrompts schema, writing (one INSERT + SELECT) or read-only (one SELECT), and a
one-test run for cold start. A benchmark compares harness (subject) with one peer (baseline) in
rounds of three runs, bare pytest, harness, the peer, in rotating order (A B C, B C A, C A B), so
all three meet the same moment of a busy machine; its paired ratio is the peer's wall over
harness's. Per-test cost, (a run's wall - the bare run's wall) / tests, and launch to the first
test go to `extra_info`. Under xdist each runs once, untimed, on 3 tests (the write variant only).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.config import Settings
from suites.betterprompts.benchmarks._support import QUICK, side_name
from suites.betterprompts.benchmarks.peers.runs import (
    BARE,
    HARNESS,
    LOCAL_IMAGE,
    PEERS,
    Runner,
    Timing,
    Tool,
    Unavailable,
    Variant,
    scratch_directory,
    unprivileged_account,
)

pytestmark = [
    pytest.mark.skipif(QUICK, reason="the peers take ~30 min: the full pass (make bench) runs them, not the quick one"),
    pytest.mark.timeout(3600),  # each run inside has its own hang guard, from Settings.hang_timeout
]
TESTS = 200
ROUNDS = 3
COLD_ROUNDS = 5


@pytest.fixture(scope="module")
def runner(harness_settings: Settings, hang_timeout: float) -> Iterator[Runner]:
    with scratch_directory(harness_settings.state_dir) as scratch:
        yield Runner(scratch, harness_settings.as_environment(), harness_settings.migrations_dir, hang_timeout)


def available(tool: Tool) -> Tool:
    """`tool`, or a skip saying what this machine lacks for it."""
    try:
        if tool.unprivileged:
            pytest.importorskip("pytest_postgresql", reason="pytest-postgresql is not installed (the `peers` extra)")
            unprivileged_account()
        if tool.docker:
            from harness.provision.containers import docker_client

            docker_client().images.get(LOCAL_IMAGE)
    except Unavailable as exc:
        pytest.skip(str(exc))
    except Exception as exc:  # the engine's or the SDK's own errors: no engine, no image
        if tool.docker:
            pytest.skip(f"{tool.name} needs the docker engine and {LOCAL_IMAGE} (`harness images build`): {exc}")
        raise
    return tool


def measure_beside(
    benchmark: BenchmarkFixture, runner: Runner, peer: Tool, variant: Variant, tests: int, rounds: int
) -> None:
    """`rounds` rounds of bare pytest, harness and `peer`, the order rotating each round."""
    tools = [BARE, HARNESS, peer]
    timings: dict[str, list[Timing]] = {tool.name: [] for tool in tools}
    turn = iter(range(rounds))

    def one_round() -> None:
        start = next(turn) % len(tools)
        for tool in tools[start:] + tools[:start]:
            timings[tool.name].append(runner.run(tool, "none" if tool is BARE else variant, tests))

    benchmark.pedantic(one_round, rounds=rounds)
    walls = {name: [t.wall for t in runs] for name, runs in timings.items()}
    bare = statistics.median(walls[BARE.name])
    benchmark.extra_info["paired"] = {
        role: {"name": side_name(benchmark.name, side), "ops_per_round": tests, "rounds": walls[tool.name]}
        for role, side, tool in (("subject", "harness", HARNESS), ("baseline", "peer", peer))
    }
    benchmark.extra_info["tests"] = tests
    benchmark.extra_info["wall_s_median"] = {name: statistics.median(w) for name, w in walls.items()}
    benchmark.extra_info["per_test_ms"] = {
        tool.name: (statistics.median(walls[tool.name]) - bare) / tests * 1000 for tool in (HARNESS, peer)
    }
    benchmark.extra_info["launch_to_first_test_s_median"] = {
        name: statistics.median(t.to_first_test for t in runs) for name, runs in timings.items()
    }


@pytest.mark.parametrize("peer", list(PEERS))
@pytest.mark.parametrize("variant", ["write", "read"])
def test_peers_200_tests(benchmark: BenchmarkFixture, runner: Runner, variant: Variant, peer: str) -> None:
    """The 200-test workload: the ratio is the peer's wall over harness's."""
    if benchmark.disabled and variant == "read":
        pytest.skip("untimed smoke run: the write variant proves each tool runs")
    benchmark.group = f"peers-{variant} {peer}"
    smoke = benchmark.disabled
    measure_beside(benchmark, runner, available(PEERS[peer]), variant, 3 if smoke else TESTS, 1 if smoke else ROUNDS)


@pytest.mark.parametrize("peer", list(PEERS))
def test_peers_cold_start(benchmark: BenchmarkFixture, runner: Runner, peer: str) -> None:
    """One test, launch to exit (launch to the first test in `extra_info`): the peer's over harness's."""
    if benchmark.disabled:
        pytest.skip("untimed smoke run: the 200-test benchmarks prove each tool runs")
    benchmark.group = f"peers-cold-start {peer}"
    measure_beside(benchmark, runner, available(PEERS[peer]), "write", 1, COLD_ROUNDS)
