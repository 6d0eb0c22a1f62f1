"""Webhook delivery: payload shape, retries with backoff, and no lost notification while a receiver
is down — on the virtual clock (exact) and against a real aiohttp receiver on a free port."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import generate_latest

from stack.alertmanager import Alertmanager, parse_config
from stack.clock import WallClock
from tests.alertmanager.helpers import Recorder, hms, iso, t, virtual_clock
from tests.support import free_port

CONFIG = """
route: {receiver: 'web.hook', group_by: [alertname], group_wait: 30s, group_interval: 1m}
receivers:
  - name: web.hook
    webhook_configs: [{url: 'URL', max_alerts: MAX}]
"""


FAILED = 'alertmanager_notifications_failed_total{{integration="webhook",reason="{}"}}'


def make(clock, sender, url="http://x.invalid/hook", max_alerts=0, **kw) -> Alertmanager:
    cfg = parse_config(CONFIG.replace("URL", url).replace("MAX", str(max_alerts)))
    return Alertmanager(cfg, clock=clock, sender=sender, seed=7, external_url="http://am.example:9093", **kw)


def metric(am, text: str) -> float:
    for line in generate_latest(am.metrics.registry).decode().splitlines():
        if line.startswith(text + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{text} not exposed")


def run_virtual(rec_kwargs: dict, until: str, posts=None, max_alerts=0):
    clock = virtual_clock(t("10:00:00"))
    rec = Recorder(clock, **rec_kwargs)
    am = make(clock, rec, max_alerts=max_alerts)
    posts = posts or [{"labels": {"alertname": "X", "job": "node", "instance": "h1"},
                       "annotations": {"summary": "h1 <down> & out"}, "startsAt": iso("10:00:00"),
                       "endsAt": iso("12:00:00"), "generatorURL": "http://prom:9090/graph?g0.expr=up"}]

    async def scenario():
        am.receive_alerts(posts)
        await clock.sleep_until(t(until))
        await am.stop()

    clock.run(scenario())
    clock.close()
    return rec, am


def test_webhook_body_is_upstream_version_4_message():
    rec, _ = run_virtual({}, "10:00:40")
    (_, url, p), = rec.received
    assert url == "http://x.invalid/hook"
    assert p == {
        "receiver": "web\\.hook", "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "X", "instance": "h1", "job": "node"},
                    "annotations": {"summary": "h1 <down> & out"}, "startsAt": "2024-05-01T10:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom:9090/graph?g0.expr=up",
                    "fingerprint": p["alerts"][0]["fingerprint"]}],
        "groupLabels": {"alertname": "X"},
        "commonLabels": {"alertname": "X", "instance": "h1", "job": "node"},
        "commonAnnotations": {"summary": "h1 <down> & out"}, "externalURL": "http://am.example:9093",
        "version": "4", "groupKey": '{}:{alertname="X"}', "truncatedAlerts": 0,
        "notification_reason": "first notification", "routeLabels": {}}
    assert len(p["alerts"][0]["fingerprint"]) == 16


def test_max_alerts_truncates_and_alerts_are_sorted_by_job_then_instance():
    posts = [{"labels": {"alertname": "X", "instance": i, **({"job": j} if j else {})},
              "endsAt": iso("12:00:00")}
             for j, i in [("b", "1"), ("a", "2"), (None, "0"), ("a", "1")]]
    rec, _ = run_virtual({}, "10:00:40", posts, max_alerts=3)
    (_, _, p), = rec.received
    assert [(a["labels"].get("job"), a["labels"]["instance"]) for a in p["alerts"]] == [
        ("a", "1"), ("a", "2"), ("b", "1")]
    assert p["truncatedAlerts"] == 1 and p["commonLabels"] == {"alertname": "X"}


def test_server_errors_are_retried_with_backoff_within_the_flush():
    rec, am = run_virtual({"fail_first": 3}, "10:00:59")
    times = [w - t("10:00:30") for w, _, _ in rec.calls]
    assert len(times) == 4 and times[0] == 0 and len(rec.received) == 1
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert 0.25 <= gaps[0] <= 0.75 and 0.375 <= gaps[1] <= 1.125 and 0.5625 <= gaps[2] <= 1.6875
    assert metric(am, 'alertmanager_notification_requests_total{integration="webhook"}') == 4
    assert metric(am, 'alertmanager_notification_requests_failed_total{integration="webhook"}') == 3
    assert metric(am, FAILED.format("serverError")) == 0


def test_receiver_down_longer_than_a_flush_loses_nothing_and_is_retried_next_tick():
    # Down for 25 attempts: far beyond one flush deadline of max(1m, 10s) = 60s.
    rec, am = run_virtual({"fail_first": 25}, "10:05:00")
    assert len(rec.received) == 1
    when, _, p = rec.received[0]
    assert when > t("10:01:30") and p["alerts"][0]["labels"]["instance"] == "h1"
    assert metric(am, FAILED.format("serverError")) >= 1
    starts = [w for w, _, _ in rec.calls]
    assert starts[0] == t("10:00:30") and t("10:01:30") in starts  # the next tick started over


def test_client_errors_are_not_retried_within_a_tick():
    rec, am = run_virtual({"fail_first": 10**6, "fail_status": 400}, "10:03:00")
    assert [hms(w) for w, _, _ in rec.calls] == ["10:00:30", "10:01:30", "10:02:30"]
    assert metric(am, FAILED.format("clientError")) == 3


def test_unsupported_integration_is_counted_as_failed_with_its_reason():
    clock = virtual_clock(t("10:00:00"))
    rec = Recorder(clock)
    cfg = parse_config("route: {receiver: r, group_wait: 1s}\nreceivers:\n  - name: r\n"
                       "    webhook_configs: [{url: 'http://x.invalid/'}]\n"
                       "    pagerduty_configs: [{routing_key: abc}]\n")
    am = Alertmanager(cfg, clock=clock, sender=rec)

    async def scenario():
        am.receive_alerts([{"labels": {"alertname": "X"}}])
        await clock.sleep(2)
        await am.stop()

    clock.run(scenario())
    clock.close()
    assert len(rec.received) == 1
    assert metric(am, 'alertmanager_notifications_failed_total{integration="pagerduty",'
                      'reason="unsupportedIntegration"}') == 1


class FlakyReceiver:
    """A real webhook receiver on 127.0.0.1 that answers 500 to its first ``failures`` requests."""

    def __init__(self, failures: int):
        self.failures = failures
        self.requests = 0
        self.bodies: list[dict] = []
        self.got = asyncio.Event()
        self.runner = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.requests <= self.failures:
            return web.Response(status=500)
        self.bodies.append(await request.json())
        self.got.set()
        return web.Response(status=200)

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


async def _live_am(port: int) -> Alertmanager:
    cfg = parse_config(f"""
route: {{receiver: r, group_by: [alertname], group_wait: 0s, group_interval: 10s}}
receivers: [{{name: r, webhook_configs: [{{url: 'http://127.0.0.1:{port}/hook'}}]}}]
""")
    am = Alertmanager(cfg, clock=WallClock(), seed=3)
    await am.start()
    return am


async def test_real_receiver_answering_500_at_first_gets_the_notification():
    port = free_port()
    receiver = FlakyReceiver(failures=2)
    await receiver.start(port)
    am = await _live_am(port)
    try:
        assert am.receive_alerts([{"labels": {"alertname": "Live", "instance": "a"}}]) == []
        await asyncio.wait_for(receiver.got.wait(), 30)
        assert receiver.requests == 3
        assert [a["labels"]["instance"] for a in receiver.bodies[0]["alerts"]] == ["a"]
    finally:
        await am.stop()
        await receiver.stop()


async def test_real_receiver_started_late_still_gets_the_notification():
    port = free_port()
    am = await _live_am(port)
    receiver = FlakyReceiver(failures=0)
    try:
        assert am.receive_alerts([{"labels": {"alertname": "Late"}}]) == []
        # wait until at least one attempt met a closed port, then bring the receiver up
        while metric(am, 'alertmanager_notification_requests_failed_total{integration="webhook"}') < 1:
            await asyncio.sleep(0.05)
        await receiver.start(port)
        await asyncio.wait_for(receiver.got.wait(), 30)
        assert receiver.bodies[0]["alerts"][0]["labels"] == {"alertname": "Late"}
    finally:
        await am.stop()
        await receiver.stop()
