"""Alerts as Alertmanager keeps them, and the store that merges repeated posts of the same alert.

Prometheus re-sends every firing alert each evaluation with ``endsAt = now + 4m``; the store
(upstream ``provider/mem``) merges those posts by fingerprint so the alert keeps its first
``startsAt`` and its latest annotations, and an alert that stops being re-sent resolves by itself
when its ``endsAt`` passes. Times are epoch seconds (floats) internally; ``format_api_time`` and
``format_go_time`` render them the way the API and the webhook body do.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from stack.alertmanager.matchers import LABEL_NAME_RE
from stack.model import Labels

# Resolved alerts are dropped from the store after this (upstream --alerts.gc-interval).
ALERT_GC_INTERVAL = 30 * 60.0
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, used for "no endsAt" in webhooks
_FNV_OFFSET = 14695981039346656037  # prometheus/common model/fnv.go
_FNV_PRIME = 1099511628211
_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@lru_cache(maxsize=65536)  # Prometheus re-posts the same label sets every evaluation
def fingerprint(labels: Labels) -> str:
    """64-bit FNV-1a over ``name 0xFF value 0xFF`` pairs sorted by name, as 16 hex digits."""
    h = _FNV_OFFSET
    for k, v in labels.pairs:
        for chunk in (k.encode(), b"\xff", v.encode(), b"\xff"):
            for byte in chunk:
                h ^= byte
                h = (h * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


@dataclass
class Alert:
    labels: Labels
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: float = 0.0
    ends_at: float = 0.0          # 0 = unset
    updated_at: float = 0.0
    generator_url: str = ""
    timeout: bool = False         # endsAt was filled in from resolve_timeout
    fingerprint: str = ""

    def __post_init__(self):
        if not self.fingerprint:
            self.fingerprint = fingerprint(self.labels)

    def resolved(self, now: float) -> bool:
        return self.ends_at != 0 and self.ends_at <= now

    def status(self, now: float) -> str:
        return "resolved" if self.resolved(now) else "firing"

    def copy(self, **changes) -> Alert:
        """A shallow copy with ``changes`` (hot path: cheaper than dataclasses.replace)."""
        new = Alert.__new__(Alert)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def merge(self, newer: Alert) -> Alert:
        """Upstream ``types.Alert.Merge``: ``self`` is the stored alert, ``newer`` the post."""
        if newer.updated_at < self.updated_at:  # keep the more recent as the "newer"
            return newer.merge(self)
        res = newer.copy()
        if self.starts_at < res.starts_at:
            res.starts_at = self.starts_at
        if newer.resolved(newer.updated_at):
            if self.resolved(newer.updated_at) and self.ends_at > newer.ends_at:
                res.ends_at = self.ends_at
        elif self.ends_at > newer.ends_at and not self.timeout:
            res.ends_at = self.ends_at
        return res


class AlertError(ValueError):
    """An alert failed validation (the message is what the API answers with)."""


def validate(alert: Alert) -> None:
    """Upstream ``types.Alert.Validate`` / ``model.Alert.Validate``."""
    if alert.starts_at == 0:
        raise AlertError("start time missing")
    if alert.ends_at and alert.ends_at < alert.starts_at:
        raise AlertError("start time must be before end time")
    if len(alert.labels) == 0:
        raise AlertError("at least one label pair required")
    for k, _v in alert.labels.pairs:
        if not LABEL_NAME_RE.match(k):
            raise AlertError(f'invalid label set: invalid name "{k}"')
    for k in alert.annotations:
        if not LABEL_NAME_RE.match(k):
            raise AlertError(f'invalid annotations: invalid name "{k}"')


def overlaps(old: Alert, new: Alert) -> bool:
    """Whether a post falls inside the stored alert's activity range (then they merge; otherwise
    the post replaces the stored alert). Strict comparisons, as upstream ``provider/mem``."""
    return (old.starts_at < new.ends_at < old.ends_at) or (old.starts_at < new.starts_at < old.ends_at)


class AlertStore:
    """Alerts by fingerprint; what ``GET /api/v2/alerts`` and the inhibitor read."""

    def __init__(self):
        self._alerts: dict[str, Alert] = {}

    def put(self, alert: Alert) -> Alert:
        """Store ``alert``, merging with an overlapping stored one; returns what is now stored."""
        old = self._alerts.get(alert.fingerprint)
        if old is not None and overlaps(old, alert):
            alert = old.merge(alert)
        self._alerts[alert.fingerprint] = alert
        return alert

    def get(self, fp: str) -> Alert | None:
        return self._alerts.get(fp)

    def all(self) -> list[Alert]:
        return list(self._alerts.values())

    def firing(self, now: float) -> list[Alert]:
        return [a for a in self._alerts.values() if not a.resolved(now)]

    def gc(self, now: float, keep: set[str] = frozenset()) -> int:
        """Drop resolved alerts (except those still held by a group); returns how many."""
        gone = [fp for fp, a in self._alerts.items() if a.resolved(now) and fp not in keep]
        for fp in gone:
            del self._alerts[fp]
        return len(gone)


# --- time formats ----------------------------------------------------------------------------

@lru_cache(maxsize=16384)  # the same startsAt arrives with every re-post of an alert
def parse_time(text: str) -> float:
    """RFC 3339 with any fractional precision and offset -> epoch seconds."""
    mt = _RFC3339_RE.match(text or "")
    if not mt:
        raise ValueError(f"parsing time {text!r} as RFC 3339 failed")
    y, mo, d, h, mi, s, frac, off = mt.groups()
    if y == "0001" and mo == "01" and d == "01" and h == mi == s == "00":
        return 0.0  # Go's zero time means "unset"
    dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    seconds = dt.timestamp() + (float(frac) if frac else 0.0)
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        seconds -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
    return seconds


def format_api_time(t: float) -> str:
    """API v2 form: exactly three fractional digits, UTC (``2024-05-01T10:00:00.000Z``)."""
    if not t:
        return ZERO_TIME.replace("Z", ".000Z")
    ms = int(math.floor(t * 1000 + 0.5))
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def format_go_time(t: float) -> str:
    """Go's RFC 3339 rendering used in webhook bodies: significant fraction digits only."""
    if not t:
        return ZERO_TIME
    us = int(math.floor(t * 1_000_000 + 0.5))
    dt = datetime.fromtimestamp(us // 1_000_000, tz=UTC)
    frac = f"{us % 1_000_000:06d}".rstrip("0")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"
