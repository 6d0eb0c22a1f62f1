"""How long the default Simulation (the full demo) takes per virtual hour, and where the time goes.

    .venv/bin/python bench/simulation_bench.py [--duration 1h] [--rate 5] [--seed 1] [--repeat 3] [--profile]

Prints the real and CPU time for building the simulation and for running it, the number of
requests, scrapes, rule evaluations and notifications, and seconds per virtual hour (the target is
an hour in under 10 s). ``--profile`` adds a cProfile breakdown of the run by package (own time).

The run is repeated (``--repeat``, each time a new Simulation) and the best CPU time is the figure:
on a shared virtual machine the same work can take twice as long from one minute to the next, and
only the fastest run measures the code rather than its neighbours.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from workshop.client import parse_duration  # noqa: E402
from workshop.simulation import Simulation  # noqa: E402


def breakdown(profile: cProfile.Profile, top: int = 12) -> list[tuple[str, float]]:
    """Own time per package (prometheus_client, asyncio, stack/promql, ...), largest first."""
    shares: collections.Counter[str] = collections.Counter()
    for (filename, _, _), (_, _, own, _, _) in pstats.Stats(profile).stats.items():
        path = filename.replace(os.sep, "/")
        if "site-packages/" in path:
            key = path.split("site-packages/")[1].split("/")[0]
        elif "/asyncio/" in path:
            key = "asyncio"
        elif "/stack/" in path:
            key = "stack/" + path.split("/stack/")[1].split("/")[0].removesuffix(".py")
        elif "/toyservice/" in path or "/workshop/" in path:
            key = path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1]
        else:
            key = "builtins and stdlib"
        shares[key] += own
    return shares.most_common(top)


def run_once(args, seconds: float, profile: cProfile.Profile | None) -> float:
    """Build and run one Simulation; print its figures and return its run's CPU seconds."""
    t0 = time.perf_counter()
    options = {} if args.rate is None else {"rate": args.rate}
    sim = Simulation(seed=args.seed, progress=False, **options)
    t1, c1 = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    sim.run(seconds)
    if profile:
        profile.disable()
    t2, c2 = time.perf_counter(), time.process_time()
    requests = sum(sim.load.statuses.values())
    scrapes = sim.query(f"sum(count_over_time(up[{int(seconds)}s]))")["value"].sum()
    evaluations = sim.query("sum(prometheus_rule_evaluations_total)")["value"].sum()
    notifications = len(sim.inbox.notifications())
    t3 = time.perf_counter()
    sim.close()
    print(f"  build {t1 - t0:.2f} s, run {t2 - t1:.1f} s (CPU {c2 - c1:.1f} s), queries after the run "
          f"{t3 - t2:.2f} s; {requests:,} requests, {scrapes:,.0f} scrapes, {evaluations:,.0f} rule "
          f"evaluations, {notifications} notifications in the inbox")
    return c2 - c1


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--duration", default="1h")
    p.add_argument("--rate", type=float, default=None, help="requests/s per toy service (default: the "
                   "Simulation's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3, help="runs; the best CPU time is the figure")
    p.add_argument("--profile", action="store_true", help="print where the run's time goes, by package")
    args = p.parse_args()
    seconds = parse_duration(args.duration)
    profile = cProfile.Profile() if args.profile else None
    print(f"Simulation(seed={args.seed}), the full demo, for {args.duration} of virtual time:")
    cpu = []
    for _ in range(max(1, args.repeat)):
        cpu.append(run_once(args, seconds, profile))
    per_hour = [c * 3600 / seconds for c in cpu]
    print(f"  CPU time per virtual hour: best {min(per_hour):.1f} s (target < 10 s); all runs: "
          + ", ".join(f"{h:.1f}" for h in per_hour))
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if profile:
        shares = breakdown(profile)
        total = sum(own for _, own in breakdown(profile, top=1000))
        print("  where the runs' time goes (cProfile, own time; profiling slows the run):")
        for key, own in shares:
            print(f"    {100 * own / total:5.1f} %  {key}")


if __name__ == "__main__":
    main()
