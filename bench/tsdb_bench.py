"""TSDB figures: scrape-like append throughput, head bytes/sample, block bytes/sample, select speed.

Run: .venv/bin/python bench/tsdb_bench.py [--series 1000] [--hours 2]
Prints figures; asserts nothing (tests never time things).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from stack.model import Labels, Matcher
from stack.tsdb import DB, Head
from stack.tsdb.block import Block, write_block

T0 = 1_700_000_000_000
STEP = 5000  # regular 5 s scrapes


def make_labels(n: int) -> list[Labels]:
    return [Labels({"__name__": f"metric_{i % 50}_total", "job": "api", "instance": f"host-{i // 50}:9100",
                    "code": str(200 + i % 3)}) for i in range(n)]


def realistic_values(n_series: int, n: int, rng) -> np.ndarray:
    """A mix as a node exporter / service produces: counters, integral gauges, rounded gauges."""
    out = np.empty((n_series, n))
    for i in range(n_series):
        kind = i % 3
        if kind == 0:
            out[i] = np.cumsum(rng.integers(0, 40, n))
        elif kind == 1:
            out[i] = 4e8 + np.cumsum(rng.integers(-4096, 4096, n)) * 4096
        else:
            out[i] = np.round(50 + np.cumsum(rng.normal(0, 0.5, n)), 2)
    return out


def append_throughput(target, labels: list[Labels], values: np.ndarray, scrapes: int) -> float:
    t0 = time.perf_counter()
    for k in range(scrapes):
        app = target.appender()
        t = T0 + k * STEP
        col = values[:, k].tolist()
        for ls, v in zip(labels, col, strict=True):
            app.append(ls, t, v)
        app.commit()
    return len(labels) * scrapes / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=2.0)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = int(args.hours * 3600_000 / STEP)
    labels = make_labels(args.series)
    values = realistic_values(args.series, n, rng)
    print(f"{args.series} series x {n} samples at 5 s ({args.hours:g} h), one commit per scrape")

    head = Head()
    rate = append_throughput(head, labels, values, n)
    print(f"head append+commit (memory only):  {rate:>12,.0f} samples/s")
    del head
    tracemalloc.start()  # a second, traced run for the true footprint (tracing slows appends)
    head = Head()
    append_throughput(head, labels, values, n)
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stats = head.sample_stats()
    per_sample = stats["sampleBytes"] / stats["numSamples"]
    print(f"head sample data:                  {per_sample:>12.2f} bytes/sample")
    traced_per_sample = traced / stats["numSamples"]
    print(f"head total incl. index & objects:  {traced_per_sample:>12.2f} bytes/sample (tracemalloc)")

    matchers = [Matcher("=~", "__name__", "metric_1.*"), Matcher("!=", "code", "201")]
    walls, cpus = [], []
    for _ in range(7):  # the median of a few runs: one run on a shared machine is mostly noise
        t0, c0 = time.perf_counter(), time.process_time()
        res = head.select(matchers, 0, 2**62)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    dt = statistics.median(walls)
    got = sum(len(s.t) for s in res)
    print(f"head select {len(res)} series / {got:,} samples: {dt * 1000:.1f} ms wall, "
          f"{statistics.median(cpus) * 1000:.1f} ms CPU ({got / dt:,.0f} samples/s)")

    with tempfile.TemporaryDirectory() as d:
        db = DB.open(Path(d) / "db")
        scrapes = min(n, 720)
        rate = append_throughput(db, labels, values, scrapes)
        print(f"DB append+commit (WAL, no fsync):  {rate:>12,.0f} samples/s ({scrapes} scrapes)")
        db.close()
        t0 = time.perf_counter()
        DB.open(Path(d) / "db").close()
        print(f"WAL replay of {scrapes * len(labels):,} samples:   {time.perf_counter() - t0:>12.2f} s")

        t = T0 + STEP * np.arange(n, dtype=np.int64)
        kinds = {
            "counter": [np.cumsum(rng.integers(0, 40, n)).astype(float) for _ in range(200)],
            "integral gauge": [4e8 + np.cumsum(rng.integers(-4096, 4096, n)) * 4096.0 for _ in range(200)],
            "2-decimal gauge": [np.round(50 + np.cumsum(rng.normal(0, 0.5, n)), 2) for _ in range(200)],
            "random float64": [rng.normal(size=n) for _ in range(200)],
        }
        for kind, series in kinds.items():
            data = [(Labels({"__name__": "x", "i": str(i)}), t, v) for i, v in enumerate(series)]
            t0 = time.perf_counter()
            path = write_block(Path(d) / kind.replace(" ", "_"), data, int(t[0]), int(t[-1]) + 1, T0)
            dt = time.perf_counter() - t0
            block = Block(path)
            per = block.size_bytes / block.num_samples
            speed = block.num_samples / dt
            print(f"block bytes/sample, {kind:<16} {per:>8.2f}  (write {speed:,.0f} samples/s)")
            block.close()


if __name__ == "__main__":
    main()
