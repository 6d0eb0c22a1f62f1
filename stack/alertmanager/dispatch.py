"""The dispatcher: routes each alert into aggregation groups and runs each group's timer.

Grouping is what turns "40 instances are down" into one notification (upstream
``dispatch/dispatch.go``). One group exists per (route, values of the route's ``group_by``
labels). A new group waits ``group_wait`` so that alerts firing together are sent together, then
flushes every ``group_interval``; alerts arriving into an existing group never flush it early.
All waiting is ``await clock.sleep``, so the same code runs on the wall clock and in a simulation.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cmp_to_key

from stack.alertmanager.alerts import Alert
from stack.alertmanager.routing import Route, group_key
from stack.model import Labels

log = logging.getLogger("stack.alertmanager")


def labels_before(a: Labels, b: Labels) -> bool:
    """prometheus/common ``LabelSet.Before``: fewer labels first; then, over the union of names in
    order, a set lacking a name sorts after one that has it, else by value."""
    if len(a) != len(b):
        return len(a) < len(b)
    da, db = a.to_dict(), b.to_dict()
    for name in sorted(set(da) | set(db)):
        if name not in da:
            return True
        if name not in db:
            return False
        if da[name] != db[name]:
            return da[name] < db[name]
    return False


def _cmp_labels(a: Labels, b: Labels) -> int:
    return -1 if labels_before(a, b) else (1 if labels_before(b, a) else 0)


def _cmp_alerts(x: Alert, y: Alert) -> int:
    """Upstream AlertSlice order: by ``job``, then ``instance`` (missing sorts last), then labels."""
    for name in ("job", "instance"):
        hx, hy = x.labels.has(name), y.labels.has(name)
        if not hx and not hy:
            continue
        if hx != hy:
            return -1 if hx else 1
        vx, vy = x.labels.get(name), y.labels.get(name)
        if vx != vy:
            return -1 if vx < vy else 1
    return _cmp_labels(x.labels, y.labels)


alert_sort_key = cmp_to_key(_cmp_alerts)


class AggregationGroup:
    """The alerts of one group and the task that flushes them on the group's timer."""

    def __init__(self, dispatcher: Dispatcher, route: Route, labels: Labels):
        self.dispatcher = dispatcher
        self.route = route
        self.labels = labels
        self.key = group_key(route, labels)
        self.alerts: dict[str, Alert] = {}
        self.task: asyncio.Task | None = None

    def insert(self, alert: Alert) -> None:
        self.alerts[alert.fingerprint] = alert

    def start(self, first_wait: float) -> None:
        self.task = asyncio.ensure_future(self._run(first_wait))

    async def _run(self, first_wait: float) -> None:
        clock = self.dispatcher.clock
        await clock.sleep(first_wait)
        while True:
            tick = clock.now()
            next_tick = tick + self.route.group_interval  # re-armed before flushing, as upstream
            try:
                await self.flush(tick)
            except Exception:  # a bug in one group must not stop its timer
                log.exception("flush of %s failed", self.key)
            if not self.alerts:
                self.dispatcher.remove(self)
                return
            await clock.sleep_until(next_tick)

    async def flush(self, tick: float) -> None:
        snapshot = sorted(self.alerts.values(), key=alert_sort_key)
        # Alerts still firing go out without an end time (Go's zero time), as upstream.
        sent = [a if a.resolved(tick) else a.copy(ends_at=0.0) for a in snapshot]
        ok = await self.dispatcher.pipeline.flush(self.route, self.key, self.labels, sent, tick)
        if not ok:
            return
        for a in snapshot:
            current = self.alerts.get(a.fingerprint)
            if a.resolved(tick) and current is not None and current.updated_at == a.updated_at:
                del self.alerts[a.fingerprint]

    def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


class Dispatcher:
    def __init__(self, route: Route, pipeline, clock):
        self.route = route
        self.pipeline = pipeline
        self.clock = clock
        self.groups: dict[tuple[int, Labels], AggregationGroup] = {}

    def process(self, alert: Alert) -> None:
        """Put ``alert`` into the group of every route it matches (creating groups as needed)."""
        for route in self.route.match(alert.labels):
            labels = route.group_labels(alert.labels)
            gkey = (id(route), labels)
            group = self.groups.get(gkey)
            if group is None:
                group = self.groups[gkey] = AggregationGroup(self, route, labels)
                group.insert(alert)
                # An alert already older than group_wait (e.g. after a restart) is sent at once.
                now = self.clock.now()
                group.start(0.0 if alert.starts_at + route.group_wait < now else route.group_wait)
            else:
                group.insert(alert)

    def remove(self, group: AggregationGroup) -> None:
        gkey = (id(group.route), group.labels)
        if self.groups.get(gkey) is group:
            del self.groups[gkey]

    def stop(self) -> None:
        for g in list(self.groups.values()):
            g.stop()
        self.groups.clear()

    def sorted_groups(self) -> list[AggregationGroup]:
        def cmp(g: AggregationGroup, h: AggregationGroup) -> int:
            by_labels = _cmp_labels(g.labels, h.labels)
            if by_labels:
                return by_labels
            return (g.route.receiver > h.route.receiver) - (g.route.receiver < h.route.receiver)
        return sorted(self.groups.values(), key=cmp_to_key(cmp))
