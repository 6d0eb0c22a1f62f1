"""Backfill figures: samples/s of ``promtool tsdb create-blocks-from openmetrics`` on a generated file.

Run: .venv/bin/python bench/backfill_bench.py [--samples 1000000]
Generates an OpenMetrics file (counters and gauges of 1,000 series, 5 s apart), then times the
whole command as a user runs it (a ``workshop`` subprocess) and the in-process call, and prints
the on-disk bytes per sample of the blocks written.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from stack.promtool.backfill import backfill

REPO = Path(__file__).resolve().parents[1]


def generate(path: Path, n_samples: int, n_series: int = 1000, start: int = 1_700_000_000) -> None:
    rng = np.random.default_rng(0)
    per_series = n_samples // n_series
    times = start + 5 * np.arange(per_series)
    with open(path, "w") as f:
        for m in range(10):
            kind = "counter" if m % 2 == 0 else "gauge"
            name = f"bench_metric_{m}" + ("_total" if kind == "counter" else "")
            f.write(f"# HELP {name} A {kind}.\n# TYPE {name} {kind}\n")
            for s in range(n_series // 10):
                labels = f'{name}{{instance="host-{s}:9100",job="node",mode="m{m}"}}'
                if kind == "counter":
                    values = np.cumsum(rng.integers(0, 50, per_series)).astype(str)
                else:
                    values = np.round(100 + np.cumsum(rng.normal(0, 1, per_series)), 2).astype(str)
                f.write("".join(f"{labels} {v} {t}\n" for v, t in zip(values, times, strict=True)))
        f.write("# EOF\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "input.om"
        generate(src, args.samples)
        print(f"input: {args.samples:,} samples, {src.stat().st_size / 1e6:.1f} MB")

        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "workshop.cli", "promtool", "tsdb", "create-blocks-from",
                        "openmetrics", "--quiet", str(src), str(Path(d) / "cli")], check=True, cwd=REPO)
        dt = time.perf_counter() - t0
        print(f"workshop promtool ... (whole command): {dt:6.2f} s  = {args.samples / dt:>10,.0f} samples/s")

        t0 = time.perf_counter()
        metas = backfill(str(src), str(Path(d) / "inproc"))
        dt = time.perf_counter() - t0
        print(f"backfill() in process:                 {dt:6.2f} s  = {args.samples / dt:>10,.0f} samples/s")
        size = sum(p.stat().st_size for p in (Path(d) / "inproc").rglob("*") if p.is_file())
        samples = sum(m["stats"]["numSamples"] for m in metas)
        print(f"blocks: {len(metas)}, {size / samples:.2f} bytes/sample on disk")


if __name__ == "__main__":
    main()
