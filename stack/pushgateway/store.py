"""The metric store of the Pushgateway: groups of pushed metric families and the rules for changing them.

A batch job cannot be scraped, so it pushes its metrics here and Prometheus scrapes them from us.
Everything a push may do is decided in this module, in-process and without HTTP, so that
simulations can push through the very same code the HTTP handler uses:

* a **group** is identified by its grouping key and holds metric families; PUT replaces the whole
  group, POST only the families it names, DELETE drops the group (spec §3);
* every pushed metric gets the grouping labels (overwriting the body's) and ``instance=""`` when it
  has none, so that a scrape with ``honor_labels: true`` keeps them and attaches no instance;
* a push is first built as a new version of its group and checked against the rest of the store
  before anything changes (type conflicts, duplicate series, suffix clashes, timestamps — spec §5,
  see :mod:`.consistency`). A refused push therefore leaves every stored metric untouched and
  only records the failure time: the previous, good metrics stay visible to Prometheus;
* ``push_time_seconds`` / ``push_failure_time_seconds`` per group let alerts notice a job that has
  stopped pushing, since pushed values never go stale in Prometheus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from stack.clock import Clock, WallClock
from stack.exposition import Metric, MetricFamily
from stack.pushgateway.consistency import ConsistencyIndex

log = logging.getLogger(__name__)

PUSH_TIME = "push_time_seconds"
PUSH_FAILURE_TIME = "push_failure_time_seconds"
# HELP strings of the two automatic gauges, as upstream exposes them (spec §4).
PUSH_TIME_HELP = "Last Unix time when changing this group in the Pushgateway succeeded."
PUSH_FAILURE_TIME_HELP = "Last Unix time when changing this group in the Pushgateway failed."
# Prefix of every consistency-check refusal (upstream handler/push.go message, spec §3.1).
INVALID_PUSH_PREFIX = "pushed metrics are invalid or inconsistent with existing metrics: "

GroupKey = tuple[tuple[str, str], ...]


class PushError(Exception):
    """A refused push; ``status`` is the HTTP status the handler answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class TimestampedFamily:
    """A stored family and the time of the push that last set it (shown by /api/v1/metrics)."""

    family: MetricFamily
    timestamp: float


@dataclass
class Group:
    labels: dict[str, str]
    families: dict[str, TimestampedFamily] = field(default_factory=dict)

    @property
    def key(self) -> GroupKey:
        return group_key(self.labels)

    def gauge_value(self, name: str) -> float | None:
        tf = self.families.get(name)
        if tf is None or not tf.family.metrics:
            return None
        return tf.family.metrics[0].value

    @property
    def last_push_successful(self) -> bool:
        ok, failed = self.gauge_value(PUSH_TIME), self.gauge_value(PUSH_FAILURE_TIME)
        return ok is None or failed is None or failed <= ok


def group_key(labels: Mapping[str, str]) -> GroupKey:
    return tuple(sorted(labels.items()))


class MetricStore:
    """All groups, changed only through :meth:`push`, :meth:`delete` and :meth:`wipe`.

    ``own_families`` returns the Pushgateway's own metrics: pushes must not conflict with them
    either, since they are served in the same exposition. ``on_change`` is called after every
    change (the persistence layer uses it to schedule a save).
    """

    def __init__(
        self,
        clock: Clock | None = None,
        own_families: Callable[[], list[MetricFamily]] = list,
        on_change: Callable[[], None] | None = None,
    ):
        self.clock = clock or WallClock()
        self.own_families = own_families
        self.on_change = on_change or (lambda: None)
        self.groups: dict[GroupKey, Group] = {}
        self._own_types: dict[str, str] | None = None
        self._index = ConsistencyIndex(self.own_types)

    # --- writes --------------------------------------------------------------------------
    def push(self, grouping: Mapping[str, str], families: Iterable[MetricFamily], replace_all: bool) -> None:
        """Apply a PUT (``replace_all``) or POST; raise :class:`PushError` and change nothing but
        the group's failure time when the result would be invalid."""
        grouping = dict(grouping)
        if "job" not in grouping or not grouping["job"]:
            raise PushError("job name is required")
        now = self.clock.now()
        pushed = [_sanitize(f, grouping) for f in families]
        if any(m.timestamp_ms is not None for f in pushed for m in f.metrics):
            self._record_failure(grouping, now)
            raise PushError(INVALID_PUSH_PREFIX + "pushed metrics must not have timestamps")

        old = self.groups.get(group_key(grouping))
        new = Group(dict(grouping), dict(old.families) if old else {})
        had_failure_metric = PUSH_FAILURE_TIME in new.families
        pushed_names = {f.name for f in pushed}
        for name in list(new.families):
            if name in (PUSH_TIME, PUSH_FAILURE_TIME):
                continue
            if replace_all or name in pushed_names:
                del new.families[name]
        for fam in pushed:
            if fam.name == PUSH_TIME or (fam.name == PUSH_FAILURE_TIME and not had_failure_metric):
                continue  # replaced by the automatic gauges below (spec §4)
            new.families[fam.name] = TimestampedFamily(fam, now)
        new.families[PUSH_TIME] = TimestampedFamily(_timestamp_gauge(PUSH_TIME, grouping, now), now)
        if PUSH_FAILURE_TIME not in new.families:
            never = _timestamp_gauge(PUSH_FAILURE_TIME, grouping, 0)
            new.families[PUSH_FAILURE_TIME] = TimestampedFamily(never, now)

        problem = self._index.check(old, new)
        if problem:
            self._record_failure(grouping, now)
            raise PushError(INVALID_PUSH_PREFIX + problem)
        self._set_group(new.key, new)
        self.on_change()

    def delete(self, grouping: Mapping[str, str]) -> bool:
        """Drop the group with exactly this key; True if there was one."""
        existed = self._set_group(group_key(grouping), None)
        if existed:
            self.on_change()
        return existed

    def wipe(self) -> None:
        self.restore([])
        self.on_change()

    def restore(self, groups: Iterable[Group]) -> None:
        """Replace every group at once (loading a persistence file); no checks, no on_change."""
        self.groups = {}
        self._index = ConsistencyIndex(self.own_types)
        for g in groups:
            self._set_group(g.key, g)

    def _set_group(self, key: GroupKey, group: Group | None) -> bool:
        """Install or remove a group, keeping the consistency index in step; True if one was replaced."""
        old = self.groups.pop(key, None)
        if old is not None:
            self._index.remove(old)
        if group is not None:
            self.groups[key] = group
            self._index.add(group)
        return old is not None

    def _record_failure(self, grouping: dict[str, str], now: float) -> None:
        key = group_key(grouping)
        group = self.groups.get(key)
        new = Group(dict(grouping), dict(group.families) if group else {})
        if group is None:  # a refused push still creates the group, with only its timestamps
            new.families[PUSH_TIME] = TimestampedFamily(_timestamp_gauge(PUSH_TIME, grouping, 0), now)
        failed = _timestamp_gauge(PUSH_FAILURE_TIME, grouping, now)
        new.families[PUSH_FAILURE_TIME] = TimestampedFamily(failed, now)
        self._set_group(key, new)
        self.on_change()

    def own_types(self) -> dict[str, str]:
        """Name -> type of the Pushgateway's own metrics. Their names and types never change at run
        time (only values do), so they are collected once rather than on every push."""
        if self._own_types is None:
            self._own_types = {f.name: f.type for f in self.own_families()}
        return self._own_types

    # --- reads ---------------------------------------------------------------------------
    def sorted_groups(self) -> list[Group]:
        return [self.groups[k] for k in sorted(self.groups)]

    def get(self, grouping: Mapping[str, str]) -> Group | None:
        return self.groups.get(group_key(grouping))

    def families(self) -> list[MetricFamily]:
        """Everything /metrics serves: all groups merged by family name, plus our own metrics."""
        return list(merge_families(self.sorted_groups(), self.own_families()).values())


# --- helpers ---------------------------------------------------------------------------------


def _sanitize(fam: MetricFamily, grouping: dict[str, str]) -> MetricFamily:
    """Grouping labels overwrite the body's; a metric without instance gets instance=""."""
    metrics = []
    for m in fam.metrics:
        labels = {**m.labels, **grouping}
        labels.setdefault("instance", "")
        metrics.append(replace(m, labels=labels))
    return replace(fam, metrics=metrics)


def _timestamp_gauge(name: str, grouping: dict[str, str], value: float) -> MetricFamily:
    labels = dict(grouping)
    labels.setdefault("instance", "")
    help_ = PUSH_TIME_HELP if name == PUSH_TIME else PUSH_FAILURE_TIME_HELP
    return MetricFamily(name, "gauge", help_, [Metric(labels=labels, value=value)])


def merge_families(groups: Iterable[Group], own: Iterable[MetricFamily]) -> dict[str, MetricFamily]:
    """One family per name. Our own metrics' HELP wins; among groups the first one's does (upstream
    logs the mismatch and serves one of them, it is not an error)."""
    merged: dict[str, MetricFamily] = {}
    for fam in own:
        merged[fam.name] = replace(fam, metrics=list(fam.metrics))
    for group in groups:
        for name in sorted(group.families):
            fam = group.families[name].family
            if name not in merged:
                merged[name] = replace(fam, metrics=list(fam.metrics))
            else:
                merged[name].metrics.extend(fam.metrics)
    return merged
