"""The notification inbox: keeps every webhook message, survives restarts, shows them as a frame,
a web page, JSON and a live widget; takes deliveries in-process from a virtual-clock Alertmanager."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import urllib.request

import aiohttp
import pandas as pd

from stack.alertmanager import Alertmanager, parse_config
from tests.alertmanager.helpers import iso, t, virtual_clock
from tests.support import wait_http
from workshop.inbox import FRAME_COLUMNS, Inbox, stop_pollers

MESSAGE = {
    "receiver": "inbox", "status": "firing", "groupKey": '{}:{alertname="InstanceDown"}', "version": "4",
    "groupLabels": {"alertname": "InstanceDown"}, "commonLabels": {}, "commonAnnotations": {},
    "externalURL": "http://am:9093", "truncatedAlerts": 0,
    "alerts": [
        {"status": "firing", "labels": {"alertname": "InstanceDown", "instance": "h1", "severity": "page"},
         "annotations": {"summary": "h1 <down>"}, "startsAt": "2024-05-01T10:00:00.5Z",
         "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "0000000000000001"},
        {"status": "resolved", "labels": {"alertname": "InstanceDown", "instance": "h2"},
         "annotations": {}, "startsAt": "2024-05-01T09:00:00Z", "endsAt": "2024-05-01T09:30:00Z",
         "generatorURL": "", "fingerprint": "0000000000000002"},
    ],
}


def test_frame_has_one_row_per_alert_per_notification_with_utc_times():
    inbox = Inbox()
    inbox.record(MESSAGE, "/critical")
    df = inbox.frame()
    assert list(df.columns) == FRAME_COLUMNS and len(df) == 2
    assert str(df["received_at"].dt.tz) == "UTC"
    row = df.iloc[0]
    assert (row.receiver, row.status, row.alertname, row.severity, row.instance, row.summary, row.path) == (
        "inbox", "firing", "InstanceDown", "page", "h1", "h1 <down>", "/critical")
    assert row.startsAt == pd.Timestamp("2024-05-01T10:00:00.5Z") and pd.isna(row.endsAt)
    assert df.iloc[1].endsAt == pd.Timestamp("2024-05-01T09:30:00Z")
    assert Inbox().frame().empty


def test_notifications_survive_a_restart_via_the_state_dir(tmp_path):
    Inbox(tmp_path).record(MESSAGE)
    again = Inbox(tmp_path)
    assert [n["payload"]["groupKey"] for n in again.notifications()] == [MESSAGE["groupKey"]]
    again.record(MESSAGE)
    with (tmp_path / "notifications.jsonl").open("a") as f:
        f.write('{"received_at": "2024-')   # a crash mid-write
    assert len(Inbox(tmp_path).notifications()) == 2


async def test_http_receiver_page_api_and_remote_client(port):
    inbox = Inbox()
    await inbox.start("127.0.0.1", port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as s:
            async with s.post(base + "/hook/a", json=MESSAGE) as r:
                assert r.status == 200
            async with s.post(base + "/", data=b"not json") as r:
                assert r.status == 400 and "not JSON" in await r.text()
            async with s.get(base + "/api/notifications") as r:
                items = await r.json()
            got = [(n["path"], n["payload"]["groupKey"]) for n in items]
            assert got == [("/hook/a", MESSAGE["groupKey"])]
            async with s.get(base + "/api/notifications?since=1") as r:
                assert await r.json() == []
            async with s.get(base + "/") as r:
                page = await r.text()
            assert 'http-equiv="refresh"' in page and "h1 &lt;down&gt;" in page and "<script" not in page
        # the blocking remote client runs in a thread while this loop keeps serving
        df = await asyncio.to_thread(lambda: Inbox.connect(base).frame())
        assert list(df["instance"]) == ["h1", "h2"]
    finally:
        await inbox.stop()


def test_virtual_clock_alertmanager_delivers_in_process_at_virtual_times():
    clock = virtual_clock(t("10:00:00"))
    inbox = Inbox(clock=clock)
    am = Alertmanager(parse_config("route: {receiver: r, group_wait: 30s}\n"
                                   "receivers: [{name: r, webhook_configs: [{url: 'http://127.0.0.1:5001/x'}]}]\n"),
                      clock=clock, sender=inbox.deliver)

    async def scenario():
        am.receive_alerts([{"labels": {"alertname": "Sim", "severity": "warning"},
                            "endsAt": iso("11:00:00")}])
        await clock.sleep(60)
        await am.stop()

    clock.run(scenario())
    clock.close()
    df = inbox.frame()
    assert list(df["alertname"]) == ["Sim"] and list(df["path"]) == ["/x"]
    assert df["received_at"].iloc[0] == pd.Timestamp("2024-05-01T10:00:30Z")


def test_widget_refreshes_and_a_rerun_replaces_the_previous_poller():
    inbox = Inbox()
    before = {th.ident for th in threading.enumerate() if th.name == "inbox-widget"}
    first = inbox.widget(interval=0.05)
    second = inbox.widget(interval=0.05)   # the cell run again
    inbox.record(MESSAGE)
    deadline = 200
    while "h1 &lt;down&gt;" not in second.value and deadline:
        threading.Event().wait(0.05)
        deadline -= 1
    assert "h1 &lt;down&gt;" in second.value
    assert "h1 &lt;down&gt;" not in first.value   # the old poller stopped
    polls = [th for th in threading.enumerate() if th.name == "inbox-widget" and th.ident not in before]
    stop_pollers()
    for th in polls:
        th.join(timeout=5)
    assert len([th for th in polls if th.is_alive()]) == 0 and len(polls) <= 2


def test_command_serves_and_keeps_state(tmp_path, port):
    proc = subprocess.Popen([sys.executable, "-m", "workshop.cli", "inbox", "--listen", f"127.0.0.1:{port}",
                             "--state-dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/notifications", timeout=30)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=json.dumps(MESSAGE).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        code = proc.wait(timeout=10)
    assert code == 0  # SIGTERM is a clean shutdown
    assert len(Inbox(tmp_path).notifications()) == 1


def test_background_server_for_notebooks_can_be_started_again_on_the_same_port(port):
    first = Inbox()
    url = first.start_in_background("127.0.0.1", port)
    second = Inbox()   # the cell re-run: a new inbox on the same address
    try:
        assert second.start_in_background("127.0.0.1", port) == url
        req = urllib.request.Request(url + "/", data=json.dumps(MESSAGE).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
        assert len(second.notifications()) == 1 and first.notifications() == []
    finally:
        second.stop_background()
        first.stop_background()
    assert not [th for th in threading.enumerate() if th.name == "inbox-server"]
