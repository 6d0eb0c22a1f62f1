"""PromQL engine benchmarks (figures are printed, never asserted).

    .venv/bin/python bench/promql_bench.py [--series 10000]

1. ``sum by (job) (rate(x[5m]))`` as a range query over 10,000 counters, 1 h at 15 s steps
   (target: under 1 s).
2. Engine-only median latency of a small range query: a dozen series, 61 steps
   (target: well under 3 ms; the HTTP API adds its own share on top).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from stack.model import Labels
from stack.promql import Engine
from stack.tsdb import Head

SCRAPE_MS = 15_000
HOUR_MS = 3_600_000
START_MS = 1_700_000_000_000


def build_head(n_series: int, span_ms: int, jobs: int = 10) -> Head:
    head = Head()
    rng = np.random.default_rng(1)
    times = np.arange(START_MS - 600_000, START_MS + span_ms + 1, SCRAPE_MS)
    app = head.appender()
    for i in range(n_series):
        labels = Labels({"__name__": "x", "job": f"job{i % jobs}", "instance": f"host{i}:9100"})
        values = np.cumsum(rng.integers(0, 10, len(times))).astype(float)
        for t, v in zip(times.tolist(), values.tolist(), strict=True):
            app.append(labels, t, v)
        if i % 500 == 499:
            app.commit()
            app = head.appender()
    app.commit()
    return head


def timed(fn, repeat: int, clock=time.perf_counter) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


def _matchers(name: str):
    from stack.model import Matcher

    return [Matcher("=", "__name__", name)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    args = ap.parse_args()

    t0 = time.perf_counter()
    big = build_head(args.series, HOUR_MS)
    n_samples = HOUR_MS // SCRAPE_MS + 41
    print(f"loaded {args.series} series x {n_samples} samples in {time.perf_counter() - t0:.1f} s")
    engine = Engine(big)
    q = "sum by (job) (rate(x[5m]))"
    runs = timed(lambda: engine.range(q, START_MS, START_MS + HOUR_MS, SCRAPE_MS), 3)
    cpu = timed(lambda: engine.range(q, START_MS, START_MS + HOUR_MS, SCRAPE_MS), 3, time.process_time)
    res = engine.range(q, START_MS, START_MS + HOUR_MS, SCRAPE_MS)
    sel = timed(lambda: big.select(_matchers("x"), START_MS - 300_000, START_MS + HOUR_MS), 3)
    sel_cpu = timed(lambda: big.select(_matchers("x"), START_MS - 300_000, START_MS + HOUR_MS), 3,
                    time.process_time)
    print(f"{q} over {args.series} series, 1h at 15s ({len(res.series[0].t)} steps): "
          f"median {statistics.median(runs) * 1000:.0f} ms wall, {statistics.median(cpu) * 1000:.0f} ms CPU "
          f"(of which Head.select: {statistics.median(sel) * 1000:.0f} ms wall, "
          f"{statistics.median(sel_cpu) * 1000:.0f} ms CPU)")

    small = build_head(12, HOUR_MS, jobs=3)
    engine = Engine(small)
    step = 60_000
    for q in ("rate(x[5m])", "sum by (job) (rate(x[5m]))", "x"):
        engine.range(q, START_MS, START_MS + 60 * step, step)  # warm up
        runs = timed(lambda q=q: engine.range(q, START_MS, START_MS + 60 * step, step), 200)
        cpu = timed(lambda q=q: engine.range(q, START_MS, START_MS + 60 * step, step), 200, time.process_time)
        wall_ms, cpu_ms = statistics.median(runs) * 1000, statistics.median(cpu) * 1000
        print(f"small range query {q!r} (12 series, 61 steps): {wall_ms:.2f} ms wall, {cpu_ms:.2f} ms CPU")


if __name__ == "__main__":
    main()
