"""How long the default Simulation takes per virtual hour, and where the time goes.

    .venv/bin/python bench/simulation_bench.py [--duration 1h] [--rate 20] [--seed 1]

Prints the real time for building the simulation and for running it, the number of requests and
scrapes done, and real seconds per virtual hour. The target is an hour in under 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from workshop.client import parse_duration  # noqa: E402
from workshop.simulation import Simulation  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--duration", default="1h")
    p.add_argument("--rate", type=float, default=None, help="requests/s per toy service (default: the "
                   "Simulation's)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    seconds = parse_duration(args.duration)
    t0 = time.perf_counter()
    options = {} if args.rate is None else {"rate": args.rate}
    sim = Simulation(seed=args.seed, progress=False, **options)
    t1, c1 = time.perf_counter(), time.process_time()
    sim.run(seconds)
    t2, c2 = time.perf_counter(), time.process_time()
    requests = sum(sim.load.statuses.values())
    scrapes = sim.query(f"count_over_time(up[{int(seconds)}s])")["value"].sum()
    t3 = time.perf_counter()
    sim.close()
    print(f"Simulation(seed={args.seed}, rate={sim.load.rate:g}) for {args.duration} of virtual time:")
    print(f"  build {t1 - t0:.2f} s, run {t2 - t1:.1f} s, one query over the whole run {t3 - t2:.2f} s")
    print(f"  {requests:,} requests, {scrapes:,.0f} scrapes")
    print(f"  {(t2 - t1) * 3600 / seconds:.1f} s real per virtual hour (target < 10 s); "
          f"CPU time {(c2 - c1) * 3600 / seconds:.1f} s per virtual hour (the figure on an idle machine)")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
