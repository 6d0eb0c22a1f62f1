"""Replaying alerting rules over a simulation that has already run: when would they have fired?

Why replay rather than run the rules during the simulation: a participant writes the rule *after*
looking at the data, and wants to know at once what it would have done. This is what ``promtool
test rules`` does with hand-written series, here done on the simulation's real samples: the rule
group is the stack's own :class:`stack.rules.group.Group`, evaluated at every slot of the interval
over the simulated time, reading the simulation's TSDB through its query engine. Its ``ALERTS``
output goes to a scratch TSDB, so a replay never changes the shared simulation.

The result is a timeline (one row per evaluation per active alert: pending or firing) and the
alert notifications Prometheus would have sent, which chapter 7 feeds into an Alertmanager.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from stack.config.duration import parse_duration_ms
from stack.rules.group import Group
from stack.rules.rulefile import load_rule_file
from stack.tsdb import Head
from workshop.simulation import DEFAULT_START

RULE_FILE_NAME = "alerts.yml"  # the name ConfigErrors show: "alerts.yml:4: ..."
DEFAULT_INTERVAL = "15s"  # as the workshop's alert group (stack/rules/workshop.rules.yml)
WARM_UP = "1m"  # skip the first minute: rate(...[1m]) needs two samples


@dataclass
class Replay:
    """What a rule file did over a simulation: states per evaluation, and what was sent."""

    timeline: pd.DataFrame  # timestamp, alertname, instance, labels, state
    sent: list[tuple[float, list[dict]]] = field(default_factory=list)  # (time, alert payloads)
    groups: list[Group] = field(default_factory=list)

    def episodes(self) -> pd.DataFrame:
        """One row per alert episode and state: alertname, instance, state, start, end."""
        rows = []
        if self.timeline.empty:
            return pd.DataFrame(columns=["alertname", "instance", "state", "start", "end"])
        step = self.timeline["timestamp"].diff().dropna()
        interval = step[step > pd.Timedelta(0)].min() if not step.empty else pd.Timedelta(seconds=15)
        for (name, inst, state), g in self.timeline.groupby(["alertname", "instance", "state"], sort=True):
            times = g["timestamp"].sort_values().tolist()
            start = prev = times[0]
            for t in times[1:]:
                if t - prev > interval:
                    rows.append((name, inst, state, start, prev))
                    start = t
                prev = t
            rows.append((name, inst, state, start, prev))
        return pd.DataFrame(rows, columns=["alertname", "instance", "state", "start", "end"])

    def plot(self, ax=None, title: str = "alert states"):
        """A timeline: one lane per alert, pending in amber, firing in red (resolved = gap)."""
        import matplotlib.pyplot as plt

        eps = self.episodes()
        lanes = sorted({(a, i) for a, i in zip(eps["alertname"], eps["instance"], strict=True)})
        if ax is None:
            _, ax = plt.subplots(figsize=(10, 0.5 + 0.5 * max(len(lanes), 1)))
        colours = {"pending": "#f5a623", "firing": "#d0021b"}
        for y, lane in enumerate(lanes):
            for row in eps[(eps["alertname"] == lane[0]) & (eps["instance"] == lane[1])].itertuples():
                width = (row.end - row.start) + pd.Timedelta(seconds=15)
                ax.broken_barh([(row.start, width)], (y - 0.4, 0.8), color=colours[row.state])
        ax.set_yticks(range(len(lanes)), [f"{a} {i}" for a, i in lanes])
        ax.set_title(title + "  (amber: pending, red: firing)")
        ax.set_xlabel("simulated time (UTC)")
        return ax


def replay_rules(rules_yaml: str, sim, every: str | None = None, start=None) -> Replay:
    """Evaluate ``rules_yaml`` (a rule file's text) over ``sim`` from ``start`` (default: the
    simulations' fixed start) to its now.

    Raises :class:`stack.config.ConfigError` (with ``alerts.yml:line``) for a bad file.
    """
    specs = load_rule_file(RULE_FILE_NAME, rules_yaml)
    scratch = Head()
    sent: list[tuple[float, list[dict]]] = []
    groups = []

    def notify(payloads: list[dict]) -> None:  # what Prometheus would post to the Alertmanager
        sent.append((sim.now if evaluating is None else evaluating / 1000, payloads))

    evaluating = None
    for spec in specs:
        interval = spec.interval_ms or parse_duration_ms(every or DEFAULT_INTERVAL)
        groups.append(Group(spec, interval_ms=interval, query_offset_ms=spec.query_offset_ms or 0,
                            engine=sim.prometheus.engine, storage=scratch, clock=sim.clock,
                            notify=notify))  # fmt: skip
    begin = round((DEFAULT_START if start is None else start) * 1000) + parse_duration_ms(WARM_UP)
    end = round(sim.now * 1000)
    rows = []
    for group in groups:
        ts = begin
        while ts <= end:
            evaluating = ts
            group.evaluate(ts)
            for rule in group.rules:
                if not hasattr(rule, "active"):
                    continue  # a recording rule
                for alert in rule.active.values():
                    if alert.resolved_at is None:
                        labels = alert.labels.to_dict()
                        rows.append((pd.Timestamp(ts, unit="ms", tz="UTC"), rule.name,
                                     labels.get("instance", ""), labels, str(alert.state)))  # fmt: skip
            ts += group.interval_ms
    timeline = pd.DataFrame(rows, columns=["timestamp", "alertname", "instance", "labels", "state"])
    return Replay(timeline.sort_values(["timestamp", "alertname", "instance"], kind="stable")
                  .reset_index(drop=True), sent, groups)  # fmt: skip


def outage_windows(sim) -> pd.DataFrame:
    """When each toy service of ``sim`` was in its periodic outage: instance, start, end."""
    rows = []
    step = 5.0
    for instance, service in sim.services.items():
        t, start = DEFAULT_START, None
        while t <= sim.now:
            inside = service.model.in_outage(t)
            if inside and start is None:
                start = t
            if not inside and start is not None:
                rows.append((instance, start, t))
                start = None
            t += step
        if start is not None:
            rows.append((instance, start, sim.now))
    frame = pd.DataFrame(rows, columns=["instance", "start", "end"])
    for c in ("start", "end"):
        frame[c] = pd.to_datetime(frame[c], unit="s", utc=True)
    return frame


def deliver(config_yaml: str, sent: list[tuple[float, list[dict]]], until: float,
            silences: tuple[str, ...] = ()):  # fmt: skip
    """Post ``sent`` (time, alerts) to an Alertmanager with ``config_yaml`` on a virtual clock.

    Returns the :class:`workshop.inbox.Inbox` its webhooks delivered to. ``silences`` are matcher
    strings (``'alertname="X", instance="a"'``), each silencing from the first alert to ``until``.
    Raises the Alertmanager's ConfigError (line numbers) or MatcherParseError for bad input.
    """
    from stack.alertmanager import Alertmanager, parse_config, parse_matchers
    from stack.clock import VirtualClock
    from workshop.checks._common import outside_event_loop
    from workshop.inbox import Inbox

    config = parse_config(config_yaml)
    matchers = [parse_matchers(s) for s in silences]
    begin = min((t for t, _ in sent), default=DEFAULT_START)
    clock = VirtualClock(start=begin)
    inbox = Inbox(clock=clock)
    am = Alertmanager(config, clock=clock, sender=inbox.deliver, seed=1)

    async def scenario() -> None:
        await am.start()
        for m in matchers:
            am.silences.set(m, clock.now(), until, created_by="workshop", comment="exercise")
        for t, payloads in sent:
            await clock.sleep_until(t)
            am.receive_alerts(payloads)
        await clock.sleep_until(until)
        await am.stop()

    try:
        outside_event_loop(clock.run, scenario())
    finally:
        outside_event_loop(clock.close)
    return inbox
