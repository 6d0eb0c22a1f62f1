"""Node exporter figures: time to collect and render one scrape of this host, and of a simulated host.

Prints figures; asserts nothing.

    .venv/bin/python bench/node_exporter_bench.py [--scrapes 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

from stack.clock import VirtualClock
from stack.node_exporter import NodeExporter, SimulatedHost


def measure(name: str, exporter: NodeExporter, scrapes: int) -> None:
    times = []
    for _ in range(scrapes):
        start = time.perf_counter()
        text = exporter.metrics_text()
        times.append(time.perf_counter() - start)
    print(f"{name:15s} median {statistics.median(times) * 1000:6.1f} ms, max {max(times) * 1000:6.1f} ms "
          f"per scrape ({text.count(chr(10))} lines)")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scrapes", type=int, default=50)
    args = p.parse_args()
    measure("this host", NodeExporter(port=0), args.scrapes)
    clock = VirtualClock(start=1_000_000.0)
    measure("simulated host", NodeExporter(port=0, collector=SimulatedHost(clock, seed=1)), args.scrapes)
    clock.close()


if __name__ == "__main__":
    main()
