"""Scrape + append throughput of one process: parse, label, relabel-free append, commit.

An in-process exporter serves a realistic 10,000-sample exposition (counters with method/path/code
labels, histograms with 12 buckets, a few gauges) whose values change every scrape; one target is
scraped on a virtual clock so only the scrape path is measured, not waiting. Prints samples/s for
the first (cold cache) scrape and for steady state. Target: >= 100,000 samples/s.

    .venv/bin/python bench/scrape_bench.py [--samples 10000] [--scrapes 30]
"""

from __future__ import annotations

import argparse
import random
import time

from stack.clock import VirtualClock
from stack.config.prometheus import parse_config_text
from stack.scrape import InProcessTransport, ScrapeResponse
from stack.scrape.manager import ScrapeManager
from stack.tsdb import Head

BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")


def exposition(n_samples: int, rnd: random.Random) -> str:
    lines = ["# HELP http_requests_total Requests.", "# TYPE http_requests_total counter"]
    paths = [f"/api/v1/resource{i}" for i in range(40)]
    n = 0
    for path in paths:
        for method in ("GET", "POST"):
            for code in ("200", "404", "500"):
                lines.append(
                    f'http_requests_total{{method="{method}",path="{path}",code="{code}"}} '
                    f"{rnd.randint(0, 10**6)}"
                )
                n += 1
    lines += [
        "# HELP http_request_duration_seconds Latency.",
        "# TYPE http_request_duration_seconds histogram",
    ]
    i = 0
    while n < n_samples - 10:
        path = f"/api/v2/item{i}"
        acc = 0
        for le in BUCKETS:
            acc += rnd.randint(0, 100)
            lines.append(f'http_request_duration_seconds_bucket{{path="{path}",le="{le}"}} {acc}')
        lines.append(f'http_request_duration_seconds_sum{{path="{path}"}} {rnd.random() * 1000:.3f}')
        lines.append(f'http_request_duration_seconds_count{{path="{path}"}} {acc}')
        n += len(BUCKETS) + 2
        i += 1
    while n < n_samples:
        lines.append(f"process_gauge_{n} {rnd.random()}")
        n += 1
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--scrapes", type=int, default=30)
    args = ap.parse_args()
    rnd = random.Random(1)
    bodies = [exposition(args.samples, rnd).encode() for _ in range(3)]
    counter = {"n": 0}

    def handler(path, headers):
        counter["n"] += 1
        return ScrapeResponse(200, "text/plain; version=0.0.4", bodies[counter["n"] % len(bodies)])

    clock = VirtualClock(start=1_000_000.0)
    head = Head()
    manager = ScrapeManager(head, clock=clock, transport=InProcessTransport({"bench:1": handler}))
    cfg = parse_config_text(
        "scrape_configs:\n  - job_name: bench\n    scrape_interval: 1s\n"
        "    static_configs: [{targets: ['bench:1']}]\n"
    )
    clock.run(manager.apply_config(cfg))
    (loop,) = manager.pools["bench"].loops.values()

    async def scrape(i: int) -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.process_time()
        err = await loop.scrape_and_report(1_000_000.0 + i)
        assert err is None, err
        return time.perf_counter() - w0, time.process_time() - c0

    manager.pools["bench"].stop()  # drive the loop by hand: no scheduling, only the scrape path
    cold = clock.run(scrape(0))
    warm = [clock.run(scrape(i)) for i in range(1, args.scrapes + 1)]
    clock.run(manager.stop())
    clock.close()
    n = args.samples
    print(f"exposition: {n} samples, {len(bodies[0]) / 1024:.0f} KiB; series in head: {head.num_series}")
    # CPU time is reported next to wall time: on a shared machine the wall clock measures the
    # neighbours as much as this code.
    for label, idx in (("wall", 0), ("cpu", 1)):
        steady = sum(w[idx] for w in warm) / len(warm)
        print(
            f"[{label}] first scrape (cold cache): {cold[idx] * 1000:.1f} ms = "
            f"{n / cold[idx]:,.0f} samples/s; steady state ({args.scrapes} scrapes): "
            f"{steady * 1000:.1f} ms/scrape = {n / steady:,.0f} samples/s; "
            f"best: {n / min(w[idx] for w in warm):,.0f} samples/s"
        )
    print("target: >= 100,000 samples/s")


if __name__ == "__main__":
    main()
