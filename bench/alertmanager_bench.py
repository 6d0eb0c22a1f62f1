"""Alertmanager figures: a simulated day of alerting on the virtual clock, and HTTP ingestion rate.

1. Virtual clock: ``--alerts`` alerts in ``--groups`` groups, re-posted every minute like
   Prometheus does (endsAt = now + 4m), a tenth of them resolving each hour, for 24 h of virtual
   time with the default timers; prints wall-clock seconds and notifications delivered in-process.
2. Wall clock: POST /api/v2/alerts batches of 100 (the Prometheus notifier's default batch size)
   to the real aiohttp app on 127.0.0.1; prints alerts/s.

Prints figures; asserts nothing.

    .venv/bin/python bench/alertmanager_bench.py [--alerts 200] [--groups 20] [--posts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

import aiohttp

from stack.alertmanager import Alertmanager, parse_config
from stack.alertmanager.main import serve
from stack.clock import VirtualClock, WallClock

CONFIG = """
route:
  receiver: hook
  group_by: [alertname]
receivers: [{name: hook, webhook_configs: [{url: 'http://127.0.0.1:5001/'}]}]
"""


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def batch(n_alerts: int, n_groups: int, now: float, hour: int) -> list[dict]:
    out = []
    for i in range(n_alerts):
        resolved = (i % 10) == (hour % 10)
        out.append({"labels": {"alertname": f"Alert{i % n_groups}", "instance": f"host{i}", "job": "node"},
                    "startsAt": iso(now - 60), "endsAt": iso(now - 1 if resolved else now + 240)})
    return out


def bench_virtual(n_alerts: int, n_groups: int) -> None:
    clock = VirtualClock(start=1_714_557_600.0)
    clock.loop._clock_resolution = 1e-6  # see tests/alertmanager/helpers.virtual_clock
    sent = 0

    async def sender(url, body, headers, timeout) -> int:
        nonlocal sent
        sent += 1
        return 200

    am = Alertmanager(parse_config(CONFIG), clock=clock, sender=sender)

    async def day() -> None:
        await am.start()
        for minute in range(24 * 60):
            am.receive_alerts(batch(n_alerts, n_groups, clock.now(), minute // 60))
            await clock.sleep(60)
        await am.stop()

    t0 = time.perf_counter()
    clock.run(day())
    clock.close()
    wall = time.perf_counter() - t0
    print(f"virtual clock: 24h, {n_alerts} alerts re-posted every minute in {n_groups} groups: "
          f"{wall:.2f} s wall, {sent} notifications, {n_alerts * 24 * 60 / wall:,.0f} alert posts/s")


async def bench_http(posts: int) -> None:
    # a long group_wait keeps notifications out of the measurement: this times ingestion only
    cfg = parse_config(CONFIG.replace("group_by: [alertname]", "group_wait: 1h"))
    am = Alertmanager(cfg, clock=WallClock())
    await am.start()
    runner = await serve(am, "127.0.0.1", 0)
    port = runner.addresses[0][1]
    body = batch(100, 10, time.time(), 1)
    async with aiohttp.ClientSession() as s:
        t0 = time.perf_counter()
        for _ in range(posts):
            async with s.post(f"http://127.0.0.1:{port}/api/v2/alerts", json=body) as r:
                await r.read()
        wall = time.perf_counter() - t0
    await runner.cleanup()
    await am.stop()
    print(f"HTTP ingestion: {posts} POSTs of 100 alerts in {wall:.2f} s = "
          f"{posts * 100 / wall:,.0f} alerts/s, {wall / posts * 1000:.2f} ms per POST")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--alerts", type=int, default=200)
    p.add_argument("--groups", type=int, default=20)
    p.add_argument("--posts", type=int, default=200)
    args = p.parse_args()
    bench_virtual(args.alerts, args.groups)
    asyncio.run(bench_http(args.posts))


if __name__ == "__main__":
    main()
