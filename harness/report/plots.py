"""The report's figures, drawn with matplotlib into inline SVG so the page stays one file."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: reports are built in CI and over SSH
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from harness.report.benchmarks import BenchmarkRun
from harness.report.locust import LocustRun

COLOURS = {"subject": "#2563eb", "baseline": "#9ca3af", "reference": "#d1d5db"}
CONCURRENCY = re.compile(r"\s*c=\d+$")


def svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    return re.sub(r"^.*?(?=<svg)", "", buffer.getvalue(), flags=re.S)  # drop the XML prolog and doctype


def latency_distributions(run: BenchmarkRun) -> str | None:
    """Per-operation time of every benchmark as a box (min, quartiles, max), log scale."""
    benches = run.benchmarks
    if not benches:
        return None
    stats = [
        {"label": f"{b.group} · {b.label}", "whislo": b.per_op(b.min) * 1e3, "q1": b.per_op(b.q1) * 1e3,
         "med": b.per_op(b.median) * 1e3, "q3": b.per_op(b.q3) * 1e3, "whishi": b.per_op(b.max) * 1e3}
        for b in benches
    ]  # fmt: skip
    figure, ax = plt.subplots(figsize=(9, 0.32 * len(stats) + 1))
    boxes = ax.bxp(stats, orientation="horizontal", showfliers=False, patch_artist=True, widths=0.6)
    for box, bench in zip(boxes["boxes"], benches, strict=True):
        box.set_facecolor(COLOURS[bench.role])
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds per operation (log)  —  blue: measured, grey: its baseline")
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    return svg(figure)


def throughput_by_concurrency(run: BenchmarkRun) -> str | None:
    """Operations per second against concurrency, for benchmarks measured at more than one."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for b in run.benchmarks:
        if "concurrency" in b.extra:
            others = " ".join(str(v) for k, v in b.params.items() if k != "concurrency")
            series[f"{CONCURRENCY.sub('', b.group)} · {others}"].append((int(b.extra["concurrency"]), b.throughput))
    series = {name: points for name, points in series.items() if len({c for c, _ in points}) > 1}
    if not series:
        return None
    figure, ax = plt.subplots(figsize=(7, 4))
    for name, points in sorted(series.items()):
        points.sort()
        ax.plot([c for c, _ in points], [t for _, t in points], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("concurrent operations")
    ax.set_ylabel("operations per second")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return svg(figure)


def recall_against_latency(run: BenchmarkRun) -> str | None:
    """Vector-index sweeps: recall@10 against p50 latency for each setting, exact scan as a line."""
    sweeps = [b for b in run.benchmarks if "sweep" in b.extra and b.role == "subject"]
    if not sweeps:
        return None
    figure, ax = plt.subplots(figsize=(7, 4))
    for bench in sweeps:
        setting, points = bench.extra["setting"], bench.extra["sweep"]
        ax.plot([p["p50_ms"] for p in points], [p["recall@10"] for p in points], marker="o", label=bench.label)
        for p in points:
            ax.annotate(f"{setting.split('.')[1]}={p[setting]}", (p["p50_ms"], p["recall@10"]), fontsize=7,
                        textcoords="offset points", xytext=(4, -10))  # fmt: skip
    extra: dict[str, Any] = sweeps[0].extra
    if "exact_p50_ms" in extra:
        ax.axvline(extra["exact_p50_ms"], color="#6b7280", linestyle="--", label="exact scan p50")
    ax.axhline(0.95, color="#dc2626", linestyle=":", label="recall target 0.95")
    ax.set_xscale("log")
    ax.set_xlabel(f"p50 latency, ms (log) — {extra.get('vectors', '?')} vectors")
    ax.set_ylabel("recall@10")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return svg(figure)


def locust_over_time(run: LocustRun) -> str | None:
    """Requests per second (with users) and p50/p95 response times across the run."""
    if not run.history:
        return None
    t = [p.t for p in run.history]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    top.plot(t, [p.rps for p in run.history], color="#2563eb", label="requests/s")
    top.set_ylabel("requests/s")
    users = top.twinx()
    users.plot(t, [p.users for p in run.history], color="#9ca3af", linestyle="--", label="users")
    users.set_ylabel("users")
    top.grid(alpha=0.3)
    bottom.plot(t, [p.p50_ms for p in run.history], label="p50")
    bottom.plot(t, [p.p95_ms for p in run.history], label="p95")
    bottom.set_ylabel("response time, ms")
    bottom.set_xlabel("seconds into the run")
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8)
    return svg(figure)
