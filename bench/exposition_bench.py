"""Cost of one ``/metrics`` render of the toy service, in microseconds, after some traffic.

An :class:`~toyservice.instrumented.InstrumentedToyService` on a virtual clock answers a few
thousand requests (every route, some errors, a batch job run), so that its registry holds what a
simulated scrape sees (~110 series); then its :class:`~toyservice.exposition.ExpositionCache`
renders it repeatedly in the text format and in OpenMetrics, beside prometheus_client's own encoder
for comparison. The simulation renders every service this way on every scrape.

    .venv/bin/python bench/exposition_bench.py [--requests 3000] [--renders 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from prometheus_client.exposition import choose_encoder  # noqa: E402

from stack.clock import VirtualClock  # noqa: E402
from toyservice.instrumented import InstrumentedToyService  # noqa: E402
from toyservice.model import ModelConfig  # noqa: E402

FORMATS = {
    "text 0.0.4": "text/plain; version=0.0.4",
    "OpenMetrics 1.0.0": "application/openmetrics-text; version=1.0.0; charset=utf-8",
}


def busy_service(requests: int) -> tuple[InstrumentedToyService, VirtualClock]:
    """A toy service that has answered ``requests`` requests on every route and run its batch job."""
    clock = VirtualClock(start=0.0)
    service = InstrumentedToyService(clock=clock, config=ModelConfig(outage_for=0), seed=1)
    routes = [(m, p) for m, p in service.model.config.routes]

    async def traffic() -> None:
        for i in range(requests):
            await service.handle(*routes[i % len(routes)])
        await service.run_batch_job()

    clock.run(traffic())
    return service, clock


def per_render(render, n: int) -> float:
    """Best of three runs of ``n`` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            render()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--renders", type=int, default=2000)
    args = p.parse_args()
    service, clock = busy_service(args.requests)
    try:
        body = service.exposition()[1]
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        print(f"toy service /metrics after {args.requests} requests: {series} series, {len(body):,} bytes "
              f"(best of 3 x {args.renders} renders)")
        for label, accept in FORMATS.items():
            encoder = choose_encoder(accept)[0]
            cache = per_render(lambda a=accept: service.exposition(a), args.renders)
            client = per_render(lambda e=encoder: e(service.registry), max(1, args.renders // 10))
            print(f"  {label:18} ExpositionCache {cache:7.1f} µs/render   "
                  f"prometheus_client {client:7.1f} µs/render  ({client / cache:.0f}x)")
    finally:
        clock.close()


if __name__ == "__main__":
    main()
