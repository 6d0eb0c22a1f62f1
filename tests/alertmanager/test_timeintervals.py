"""Time intervals: parsing, containment in a location, and muting/activating routes."""

from __future__ import annotations

import pytest

from stack.alertmanager import Alertmanager, parse_config
from tests.alertmanager.helpers import Recorder, iso, t, virtual_clock

BASE = """
route:
  receiver: hook
  group_by: [alertname]
  routes:
    - matchers: [team=db]
      receiver: hook
      KEY: [NAME]
receivers: [{name: hook, webhook_configs: [{url: 'http://x.invalid/'}]}]
time_intervals:
  - name: business
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
        location: Europe/Berlin
  - name: month-end
    time_intervals:
      - days_of_month: ['-2:-1']
        months: [may, 'june:july']
        years: ['2024']
"""


def cfg(key="mute_time_intervals", name="business"):
    return parse_config(BASE.replace("KEY", key).replace("NAME", name))


@pytest.mark.parametrize("when, inside", [
    ("2024-05-01T06:59:00Z", False),   # Wednesday 08:59 in Berlin (UTC+2)
    ("2024-05-01T07:00:00Z", True),
    ("2024-05-01T14:59:00Z", True),
    ("2024-05-01T15:00:00Z", False),   # end is exclusive
    ("2024-05-04T10:00:00Z", False),   # Saturday
])
def test_business_hours_are_evaluated_in_their_location(when, inside):
    from stack.alertmanager.alerts import parse_time
    assert cfg().time_intervals["business"].contains(parse_time(when)) is inside


@pytest.mark.parametrize("when, inside", [
    ("2024-05-30T12:00:00Z", True), ("2024-05-29T12:00:00Z", False),
    ("2024-06-29T12:00:00Z", True), ("2024-08-31T12:00:00Z", False), ("2025-05-31T12:00:00Z", False),
])
def test_negative_days_of_month_count_from_the_end(when, inside):
    from stack.alertmanager.alerts import parse_time
    assert cfg().time_intervals["month-end"].contains(parse_time(when)) is inside


def run(config, events_until: str) -> Recorder:
    clock = virtual_clock(t("06:00:00"))   # 08:00 in Berlin on Wednesday 2024-05-01
    rec = Recorder(clock)
    am = Alertmanager(config, clock=clock, sender=rec)

    async def scenario():
        am.receive_alerts([{"labels": {"alertname": "X", "team": "db"}, "endsAt": iso("23:00:00")}])
        await clock.sleep_until(t(events_until))
        muted = am.alert_status(am.alerts.all()[0])["mutedBy"]
        await am.stop()
        return muted

    rec.muted_at_end = clock.run(scenario())
    clock.close()
    return rec


def test_mute_time_interval_holds_notifications_until_it_ends():
    rec = run(cfg(), "07:10:00")
    # muted from 07:00 UTC (09:00 Berlin): only the 06:00:30 first notification went out
    assert [w for w, _, _ in rec.received] == [t("06:00:30")]
    assert rec.muted_at_end == ["business"]


def test_active_time_interval_sends_only_inside_it():
    rec = run(cfg("active_time_intervals"), "07:10:00")
    assert [w for w, _, _ in rec.received] == [t("07:00:30")]
    assert rec.muted_at_end == []


def test_unknown_location_is_a_load_error():
    with pytest.raises(Exception, match="unknown time zone location 'Mars/Base'"):
        parse_config(BASE.replace("KEY", "mute_time_intervals").replace("NAME", "business")
                     .replace("Europe/Berlin", "Mars/Base"))



def test_a_range_that_runs_backwards_is_a_load_error():
    with pytest.raises(Exception, match="am.yml:.*weekdays: start sunday is after end monday"):
        parse_config(BASE.replace("KEY", "mute_time_intervals").replace("NAME", "business")
                     .replace("monday:friday", "sunday:monday"), "am.yml")
