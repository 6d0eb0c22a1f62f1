"""The default grouping/dedup timeline of the spec (section 11), run on the virtual clock.

Every notification time is asserted exactly: group_wait 30s, group_interval 5m, repeat_interval 4h.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from stack.alertmanager import Alertmanager, parse_config
from tests.alertmanager.helpers import Recorder, iso, t, virtual_clock

CONFIG = """
route:
  receiver: hook
  group_by: [alertname]
receivers:
  - name: hook
    webhook_configs:
      - url: http://inbox.invalid/hook
        send_resolved: {send_resolved}
"""


def run_timeline(send_resolved: bool, events: list[tuple[str, dict]], until: str) -> Recorder:
    clock = virtual_clock(t("10:00:00"))
    rec = Recorder(clock)
    am = Alertmanager(parse_config(CONFIG.format(send_resolved=str(send_resolved).lower())), clock=clock,
                      sender=rec, seed=1)

    async def scenario() -> None:
        await am.start()
        for when, alert in events:
            await clock.sleep_until(t(when))
            assert am.receive_alerts([alert]) == []
        await clock.sleep_until(t(until))
        await am.stop()

    clock.run(scenario())
    clock.close()
    return rec


def alert(n: str, starts: str, ends: str | None = None, name: str = "X") -> dict:
    d = {"labels": {"alertname": name, "n": n}, "startsAt": iso(starts)}
    if ends:
        d["endsAt"] = iso(ends)
    return d


EVENTS = [
    ("10:00:00", alert("A", "09:59:58", "10:30:00")),
    ("10:02:00", alert("B", "10:02:00", "23:00:00")),
    ("10:07:00", alert("A", "09:59:58", "10:06:50")),
    ("14:20:00", alert("B", "10:02:00", "14:20:00")),
    ("14:22:00", alert("C", "14:22:00", "23:00:00")),
]


def test_default_timeline_notifies_at_exact_tick_times():
    rec = run_timeline(True, EVENTS, "14:30:00")
    assert rec.summary() == [
        ("10:00:30", [("A", "firing")]),
        ("10:05:30", [("A", "firing"), ("B", "firing")]),
        ("10:10:30", [("A", "resolved"), ("B", "firing")]),
        ("14:15:30", [("B", "firing")]),
        ("14:20:30", [("B", "resolved")]),
        ("14:22:30", [("C", "firing")]),  # brand-new group: group_wait again
    ]
    reasons = [p["notification_reason"] for _, _, p in rec.received]
    assert reasons == ["first notification", "new alerts added", "some alerts resolved",
                       "repeat interval elapsed", "all alerts resolved", "first notification"]
    assert [p["status"] for _, _, p in rec.received] == ["firing"] * 4 + ["resolved", "firing"]


def test_without_send_resolved_resolutions_are_not_sent():
    rec = run_timeline(False, EVENTS, "14:30:00")
    # 10:10:30 sends nothing and logs nothing, so the repeat counts from the 10:05:30 notification
    assert rec.summary() == [
        ("10:00:30", [("A", "firing")]),
        ("10:05:30", [("A", "firing"), ("B", "firing")]),
        ("14:10:30", [("B", "firing")]),
        ("14:22:30", [("C", "firing")]),
    ]


def test_alert_older_than_group_wait_in_a_new_group_is_flushed_on_arrival():
    rec = run_timeline(True, [("10:00:00", alert("A", "09:50:00", "11:00:00"))], "10:01:00")
    assert rec.summary() == [("10:00:00", [("A", "firing")])]


def test_alert_resolved_on_arrival_in_a_new_group_is_never_notified():
    rec = run_timeline(True, [("10:00:00", alert("A", "09:50:00", "09:55:00"))], "10:20:00")
    assert rec.received == []


def test_alert_without_ends_at_resolves_after_resolve_timeout():
    rec = run_timeline(True, [("10:00:00", {"labels": {"alertname": "X", "n": "A"}})], "10:20:00")
    # firing at 10:00:30; endsAt = 10:05:00 (resolve_timeout 5m) so the 10:05:30 tick reports it resolved
    assert rec.summary() == [("10:00:30", [("A", "firing")]), ("10:05:30", [("A", "resolved")])]
    assert rec.received[1][2]["alerts"][0]["endsAt"] == "2024-05-01T10:05:00Z"


@pytest.mark.parametrize("group_by, groups", [("[alertname]", 1), ("['...']", 2), ("[]", 1)])
def test_group_by_decides_how_many_notifications(group_by, groups):
    clock = virtual_clock(t("10:00:00"))
    rec = Recorder(clock)
    cfg = parse_config(CONFIG.format(send_resolved="true").replace("[alertname]", group_by))
    am = Alertmanager(cfg, clock=clock, sender=rec)

    async def scenario() -> None:
        am.receive_alerts([alert("A", "10:00:00", "11:00:00"), alert("B", "10:00:00", "11:00:00")])
        await asyncio.sleep(60)
        await am.stop()

    clock.run(scenario())
    clock.close()
    assert len(rec.received) == groups
    assert sum(len(p["alerts"]) for _, _, p in rec.received) == 2


def test_restart_with_the_same_storage_does_not_resend_unchanged_groups(tmp_path):
    clock = virtual_clock(t("10:00:00"))
    rec = Recorder(clock)
    cfg = parse_config(CONFIG.format(send_resolved="true"))
    firing = alert("A", "10:00:00", "23:00:00")

    async def scenario():
        first = Alertmanager(cfg, clock=clock, sender=rec, storage_path=tmp_path)
        first.receive_alerts([firing])
        await clock.sleep_until(t("10:01:00"))
        await first.stop()
        # restarted: Prometheus re-sends the firing alert; the old notification log is read back
        second = Alertmanager(cfg, clock=clock, sender=rec, storage_path=tmp_path)
        second.receive_alerts([firing])
        await clock.sleep_until(t("10:20:00"))
        await second.stop()

    clock.run(scenario())
    clock.close()
    assert rec.summary() == [("10:00:30", [("A", "firing")])]


def test_alert_already_resolved_on_arrival_is_reported_resolved_next_to_firing_ones():
    rec = run_timeline(True, [("10:00:00", alert("A", "10:00:00", "11:00:00")),
                              ("10:02:00", alert("B", "09:00:00", "09:30:00"))], "10:06:00")
    assert rec.summary() == [("10:00:30", [("A", "firing")]),
                             ("10:05:30", [("A", "firing"), ("B", "resolved")])]
    assert rec.received[1][2]["notification_reason"] == "some alerts resolved"


def test_simulated_prometheus_posts_in_process_with_the_notifier_signature():
    clock = virtual_clock(t("10:00:00"))
    rec = Recorder(clock)
    am = Alertmanager(parse_config(CONFIG.format(send_resolved="true")), clock=clock, sender=rec)
    body = json.dumps([alert("A", "10:00:00", "10:04:00")]).encode()

    async def scenario():
        assert await am.post_alerts("http://am/api/v2/alerts", body, 10.0) == 200
        assert await am.post_alerts("http://am/api/v2/alerts", b'[{"labels": {}}]', 10.0) == 400
        await clock.sleep(60)
        await am.stop()

    clock.run(scenario())
    clock.close()
    assert rec.summary() == [("10:00:30", [("A", "firing")])]


def test_virtual_clock_without_an_in_process_sender_is_refused_with_a_hint():
    clock = virtual_clock(t("10:00:00"))
    with pytest.raises(ValueError, match="sender=Inbox"):
        Alertmanager(parse_config(CONFIG.format(send_resolved="true")), clock=clock)
    clock.close()
