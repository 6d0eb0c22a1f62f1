"""Throughput of one toy service instance on loopback, in requests per second.

Starts the instrumented service in a subprocess (``workshop toyservice``, as the demo runs it; no
outage cycle, and zero-latency routes so that the figure is the service's own cost, not its
simulated sleeping), then drives it with an aiohttp client at a fixed concurrency and prints the
figures. Usage::

    .venv/bin/python bench/toyservice_bench.py [--seconds 10] [--concurrency 64]

The client shares the machine with the server: on a 2-core box the figure is a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

import aiohttp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tests.support import free_port, wait_http  # noqa: E402

# Run the service with latency ~1 ms: measure the HTTP + instrumentation path, not asyncio.sleep.
SERVICE = """
import sys
from toyservice import main as m
from toyservice.model import DEFAULT_ROUTES, Route
for key, route in list(DEFAULT_ROUTES.items()):
    DEFAULT_ROUTES[key] = Route(base_latency=0.001, error_ratio=route.error_ratio)
sys.exit(m.main(sys.argv[1:]))
"""


async def drive(url: str, seconds: float, concurrency: int) -> tuple[int, dict[int, int]]:
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(i: int) -> None:
            path = "/api/foo" if i % 2 else "/api/bar"
            while time.perf_counter() < deadline:
                async with session.get(url + path) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return sum(statuses.values()), statuses


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--model-latency", action="store_true", help="keep the routes' modelled latency")
    args = p.parse_args()
    command = [sys.executable, "-m", "workshop.cli", "toyservice"] if args.model_latency else \
        [sys.executable, "-c", SERVICE]
    port = free_port()
    server = subprocess.Popen([*command, "--listen", f"127.0.0.1:{port}", "--outage-for", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        asyncio.run(drive(f"http://127.0.0.1:{port}", 1.0, args.concurrency))  # warm-up
        start = time.perf_counter()
        total, statuses = asyncio.run(drive(f"http://127.0.0.1:{port}", args.seconds, args.concurrency))
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=10)
    latency = "modelled latency" if args.model_latency else "1 ms latency"
    print(f"toy service (instrumented, {latency}, aiohttp client, concurrency {args.concurrency}, "
          f"{elapsed:.1f} s):")
    by_status = dict(sorted(statuses.items()))
    print(f"  {total / elapsed:,.0f} requests/s  ({total} requests; statuses {by_status})")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
