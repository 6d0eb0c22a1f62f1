"""How long the RED dashboard takes to refresh for a 1 h and a 24 h range (prints figures).

    .venv/bin/python bench/dashboards_bench.py [--repeat 3]

Data: 24 h of the toy service's metrics (three instances, scraped every 15 s) from the seeded
generator the golden-image test uses, in a TSDB Head queried through the PromQL engine, so the
figures measure dashboards (concurrent queries, drawing, PNG encoding) and not the network.
For each range it prints the best of ``--repeat`` runs of fetch (all queries of one refresh),
draw (building the Figure) and PNG (Agg rendering + encoding).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.workshop.dashboards.synthetic import toy_history  # noqa: E402
from workshop.dashboards import fetch, render, shipped  # noqa: E402
from workshop.dashboards.render import figure_bytes  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    source = toy_history(seed=1, minutes=24 * 60, step_s=15)
    print(f"generated 24 h of toy service history in {time.perf_counter() - t0:.1f} s")
    red = shipped("red")
    print(f"{'range':>6} {'queries':>8} {'fetch s':>8} {'draw s':>8} {'png s':>8} {'total s':>8}")
    for label in ("1h", "24h"):
        best = None
        for _ in range(args.repeat):
            t1 = time.perf_counter()
            data = fetch(red, source, f"now-{label}", scrape_interval="15s")
            t2 = time.perf_counter()
            fig = render(red, data=data)
            t3 = time.perf_counter()
            figure_bytes(fig)
            t4 = time.perf_counter()
            run = (t2 - t1, t3 - t2, t4 - t3)
            best = run if best is None or sum(run) < sum(best) else best
        fetch_s, draw_s, png_s = best
        figures = f"{fetch_s:>8.2f} {draw_s:>8.2f} {png_s:>8.2f} {sum(best):>8.2f}"
        print(f"{label:>6} {len(data.queries):>8} {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
