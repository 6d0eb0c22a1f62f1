"""Median latency of a small range query through the HTTP API (target: under 3 ms).

A dozen series, 61 steps (one hour at 60 s), evaluated by the real engine over a real head and
served by the real aiohttp app on 127.0.0.1; the client keeps one HTTP/1.1 connection open, as
Grafana does. Prints figures; asserts nothing.

    .venv/bin/python bench/api_bench.py [--requests 500]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
import timeit
import urllib.parse
from types import SimpleNamespace

from aiohttp import web

from stack.clock import LoopThread, WallClock
from stack.model import Labels
from stack.promql.engine import Engine
from stack.tsdb import Head
from stack.web import create_app

END_S = 1_714_557_600
SERIES = 12
SCRAPE_MS = 15_000


def build_server():
    head = Head()
    app = head.appender()
    for i in range(2 * 3600 * 1000 // SCRAPE_MS + 1):
        t = (END_S - 2 * 3600) * 1000 + i * SCRAPE_MS
        for s in range(SERIES):
            labels = Labels({"__name__": "http_requests_total", "job": "app", "instance": f"host{s}:8080"})
            app.append(labels, t, float(i * (s + 1)))
    app.commit()
    return SimpleNamespace(tsdb=head, engine=Engine(head), clock=WallClock(), flags={}, config=None,
                           scrape_manager=None, rule_manager=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--query", default="rate(http_requests_total[5m])")
    args = parser.parse_args()

    server = build_server()
    loop = LoopThread(name="bench-web")
    runner = web.AppRunner(create_app(server))
    loop.submit(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.submit(site.start())
    port = site._server.sockets[0].getsockname()[1]
    params = urllib.parse.urlencode({"query": args.query, "start": END_S - 3600, "end": END_S, "step": 60})
    conn = http.client.HTTPConnection("127.0.0.1", port)
    try:
        conn.request("GET", "/api/v1/query_range?" + params)
        first = json.loads(conn.getresponse().read())
        series = first["data"]["result"]
        points = {len(s["values"]) for s in series}
        for _ in range(20):  # warm up
            conn.request("GET", "/api/v1/query_range?" + params)
            conn.getresponse().read()
        latencies = []
        cpu0 = time.process_time()
        for _ in range(args.requests):
            t0 = time.perf_counter()
            conn.request("GET", "/api/v1/query_range?" + params)
            conn.getresponse().read()
            latencies.append((time.perf_counter() - t0) * 1000)
        # CPU of the whole process (client, event loop and query threads) per request: steadier
        # than wall time on a shared machine, and an upper bound of the server's own share.
        cpu_ms = (time.process_time() - cpu0) / args.requests * 1000
    finally:
        conn.close()
        loop.submit(runner.cleanup())
        loop.stop()
    latencies.sort()
    print(f"query_range {args.query!r}: {len(series)} series x {sorted(points)} steps, "
          f"{args.requests} requests over one keep-alive connection")
    p90 = latencies[int(len(latencies) * 0.9)]
    # How fast this machine is right now: a fixed pure-Python workload (about 0.2 ms on an idle
    # laptop), so figures from a loaded or slow machine can be read in proportion.
    calib = min(timeit.repeat("list(map(repr, x))", "x = [i / 7 for i in range(1000)]", number=20, repeat=5))
    print(f"median {statistics.median(latencies):.2f} ms   p90 {p90:.2f} ms   min {latencies[0]:.2f} ms"
          "   (target < 3 ms)")
    print(f"CPU per request (client and server, one process): {cpu_ms:.2f} ms")
    print(f"calibration: 1000 float reprs take {calib / 20 * 1000:.2f} ms here")


if __name__ == "__main__":
    main()
