"""Ours next to the real Alertmanager (Debian 0.25): same config, same posted alerts, compare the
aggregation groups and the webhook payloads both deliver to one inbox."""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from stack.alertmanager import Alertmanager
from stack.alertmanager.main import serve
from stack.clock import WallClock
from tests.support import free_port, require_binary
from workshop.inbox import Inbox

pytestmark = pytest.mark.interop

CONFIG = """
route:
  receiver: web.hook
  group_by: [alertname]
  group_wait: 3s   # > the up-to-1s age of startsAt below, so no group takes the "old alert" fast path
  group_interval: 1m
  routes:
    - matchers: ['severity="page"']
      receiver: pager
      continue: true
    - matchers: ['team=~"db|infra"']
      receiver: infra
      group_by: ['...']
inhibit_rules:
  - source_matchers: [severity=page]
    target_matchers: [severity=warning]
    equal: [instance]
receivers:
  - name: web.hook
    webhook_configs: [{url: 'INBOX/default'}]
  - name: pager
    webhook_configs: [{url: 'INBOX/pager', max_alerts: 1}]
  - name: infra
    webhook_configs: [{url: 'INBOX/infra', send_resolved: false}]
"""


def ts(delta_s: float) -> str:
    t = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=delta_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def alerts() -> list[dict]:
    now, end = ts(0), ts(3600)
    def a(labels, **ann):
        return {"labels": labels, "annotations": ann, "startsAt": now, "endsAt": end,
                "generatorURL": "http://prom:9090/graph?g0.expr=up&g0.tab=1"}
    return [
        a({"alertname": "InstanceDown", "instance": "h1", "job": "node", "severity": "page"},
          summary="h1 down"),
        a({"alertname": "InstanceDown", "instance": "h2", "job": "node", "severity": "page"},
          summary="h2 down"),
        a({"alertname": "HighLoad", "instance": "h1", "job": "node", "severity": "warning"}),
        a({"alertname": "HighLoad", "instance": "h3", "job": "node", "severity": "warning"}),
        a({"alertname": "DBSlow", "instance": "db1", "team": "db"}, summary="slow"),
        a({"alertname": "DBSlow", "instance": "db2", "team": "db"}, summary="slow"),
    ]


async def wait_ready(session: aiohttp.ClientSession, url: str, proc) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise AssertionError(f"real alertmanager exited: {(await proc.stderr.read()).decode()[-2000:]}")
        try:
            async with session.get(url + "/-/ready") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(url)


def normalise_group(g: dict) -> dict:
    g = copy.deepcopy(g)
    g.pop("routeLabels", None)
    for a in g["alerts"]:
        a.pop("updatedAt")
        a["status"].pop("mutedBy", None)
    return g


def normalise_payload(p: dict) -> dict:
    p = {k: v for k, v in p.items() if k not in ("externalURL", "notification_reason", "routeLabels")}
    return p


async def test_groups_and_webhook_payloads_match_the_real_alertmanager(tmp_path):
    binary = require_binary("prometheus-alertmanager")
    inbox_port, real_port, our_port = free_port(), free_port(), free_port()
    cfg_file = tmp_path / "am.yml"
    cfg_file.write_text(CONFIG.replace("INBOX", f"http://127.0.0.1:{inbox_port}"))
    inbox = Inbox()
    await inbox.start("127.0.0.1", inbox_port)
    proc = await asyncio.create_subprocess_exec(
        binary, f"--config.file={cfg_file}", f"--storage.path={tmp_path / 'real'}",
        f"--web.listen-address=127.0.0.1:{real_port}", "--cluster.listen-address=",
        "--web.external-url=http://real.example:9093", stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    ours = Alertmanager(cfg_file, clock=WallClock(), storage_path=tmp_path / "ours",
                        external_url="http://ours.example:9093")
    await ours.start()
    runner = await serve(ours, "127.0.0.1", our_port)
    real_url, our_url = f"http://127.0.0.1:{real_port}", f"http://127.0.0.1:{our_port}"
    try:
        async with aiohttp.ClientSession() as s:
            await wait_ready(s, real_url, proc)
            body = alerts()
            for url in (real_url, our_url):
                async with s.post(url + "/api/v2/alerts", json=body) as r:
                    assert r.status == 200 and await r.read() == b""
            groups = {}
            for name, url in (("real", real_url), ("ours", our_url)):
                async with s.get(url + "/api/v2/alerts/groups") as r:
                    groups[name] = [normalise_group(g) for g in await r.json()]
            assert groups["ours"] == groups["real"]
            # pager InstanceDown (continue, but no later sibling matches), HighLoad, 2 infra groups
            assert len(groups["real"]) == 4

            bad_posts = [[{"annotations": {}}],
                         [{"labels": {"alertname": "Bad"}, "startsAt": ts(0), "endsAt": ts(-60)}]]
            for bad in bad_posts:
                answers = []
                for url in (real_url, our_url):
                    async with s.post(url + "/api/v2/alerts", json=bad) as r:
                        answers.append((r.status, await r.json(content_type=None)))
                assert answers[1] == answers[0]

            # every group flushes after group_wait (3s): 4 notifications from each side
            deadline = time.monotonic() + 30
            def by_source(ext):
                return [n for n in inbox.notifications() if n["payload"]["externalURL"] == ext]
            while time.monotonic() < deadline and (len(by_source("http://real.example:9093")) < 4
                                                   or len(by_source("http://ours.example:9093")) < 4):
                await asyncio.sleep(0.1)

            def key(n):
                return (n["path"], n["payload"]["groupKey"])
            real = sorted(by_source("http://real.example:9093"), key=key)
            mine = sorted(by_source("http://ours.example:9093"), key=key)
            assert [key(n) for n in mine] == [key(n) for n in real]
            assert len(real) == 4
            for r_, m_ in zip(real, mine, strict=True):
                assert normalise_payload(m_["payload"]) == normalise_payload(r_["payload"])
            pager = next(n["payload"] for n in real if n["path"] == "/pager")
            assert pager["truncatedAlerts"] == 1 and pager["receiver"] == "pager"
            default = next(n["payload"] for n in real if n["path"] == "/default"
                           and n["payload"]["groupLabels"] == {"alertname": "HighLoad"})
            assert [a["labels"]["instance"] for a in default["alerts"]] == ["h3"]  # h1 inhibited
            assert default["receiver"] == "web\\.hook"
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await runner.cleanup()
        await ours.stop()
        await inbox.stop()
