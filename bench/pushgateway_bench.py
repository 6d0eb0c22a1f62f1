"""Pushgateway figures: in-process push rate with many groups stored, HTTP push rate, /metrics render time.

Every push re-checks the whole store for consistency (as upstream does), so the push rate falls as
the store grows; this prints it for a few store sizes. Prints figures; asserts nothing.

    .venv/bin/python bench/pushgateway_bench.py [--series 20] [--pushes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from stack.pushgateway import Pushgateway


def body(series: int, value: float) -> str:
    lines = ["# TYPE job_items gauge"] + [f'job_items{{shard="{i}"}} {value}' for i in range(series)]
    return "\n".join(lines) + "\n"


def in_process(groups: int, series: int, pushes: int) -> None:
    pg = Pushgateway(port=0)
    for g in range(groups):
        pg.push({"job": "batch", "instance": f"i{g}"}, body(series, g))
    start = time.perf_counter()
    for n in range(pushes):
        pg.push({"job": "batch", "instance": f"i{n % max(groups, 1)}"}, body(series, n))
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    text = pg.metrics_text()
    render = time.perf_counter() - start
    print(f"in-process: {groups:5d} groups x {series} series: {pushes / elapsed:8.0f} pushes/s, "
          f"/metrics render {render * 1000:7.1f} ms ({len(text) // 1024} KiB)")


async def over_http(series: int, pushes: int) -> None:
    pg = Pushgateway(port=0)
    await pg.start()
    try:
        async with aiohttp.ClientSession() as s:
            start = time.perf_counter()
            for n in range(pushes):
                async with s.put(f"{pg.url}/metrics/job/batch/instance/i{n % 10}", data=body(series, n)) as r:
                    assert r.status == 200, await r.text()
            elapsed = time.perf_counter() - start
    finally:
        await pg.stop()
    print(f"HTTP PUT (127.0.0.1, sequential): {pushes / elapsed:8.0f} pushes/s of {series} series")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--series", type=int, default=20)
    p.add_argument("--pushes", type=int, default=200)
    args = p.parse_args()
    for groups in (1, 100, 1000):
        in_process(groups, args.series, args.pushes)
    asyncio.run(over_http(args.series, args.pushes))


if __name__ == "__main__":
    main()
