"""Named time intervals: "mute pages at night", "only notify during business hours".

Routes refer to them by name in ``mute_time_intervals`` / ``active_time_intervals`` and the
notification pipeline asks :meth:`TimeInterval.contains` at flush time (upstream
``timeinterval/timeinterval.go``). A named interval is a list of specs, any of which may match; a
spec matches when every field it sets (times, weekdays, days_of_month, months, years) matches the
moment seen in the spec's ``location`` (UTC by default).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stack.config.yamlutil import ConfigError, check_keys

WEEKDAYS = {name: i for i, name in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})$")
SPEC_KEYS = ("times", "weekdays", "days_of_month", "months", "years", "location")


@dataclass(frozen=True)
class IntervalSpec:
    """One entry of a named interval; ``None`` fields do not restrict."""

    times: tuple[tuple[int, int], ...] = ()          # [start, end) minutes of the day
    weekdays: tuple[tuple[int, int], ...] = ()       # inclusive ranges, monday = 0
    days_of_month: tuple[tuple[int, int], ...] = ()  # inclusive, negative counts from the end
    months: tuple[tuple[int, int], ...] = ()         # inclusive, january = 1
    years: tuple[tuple[int, int], ...] = ()
    location: str = "UTC"
    _zone: object = field(default=UTC, compare=False, repr=False)

    def contains(self, t: float) -> bool:
        d = datetime.fromtimestamp(t, tz=self._zone)
        if self.times:
            minute = d.hour * 60 + d.minute
            if not any(a <= minute < b for a, b in self.times):
                return False
        if self.weekdays and not any(a <= d.weekday() <= b for a, b in self.weekdays):
            return False
        if self.days_of_month:
            days_in_month = calendar.monthrange(d.year, d.month)[1]
            if not any(_day_range(a, b, days_in_month, d.day) for a, b in self.days_of_month):
                return False
        if self.months and not any(a <= d.month <= b for a, b in self.months):
            return False
        return not (self.years and not any(a <= d.year <= b for a, b in self.years))


def _day_range(a: int, b: int, days_in_month: int, day: int) -> bool:
    start = a if a > 0 else days_in_month + a + 1
    end = b if b > 0 else days_in_month + b + 1
    return max(start, 1) <= day <= min(end, days_in_month)


@dataclass(frozen=True)
class TimeInterval:
    """A named interval; ``contains`` is true if any of its specs contains the moment."""

    name: str
    specs: tuple[IntervalSpec, ...]

    def contains(self, t: float) -> bool:
        return any(s.contains(t) for s in self.specs)


def parse_time_interval(node, what: str = "time_interval") -> TimeInterval:
    check_keys(node, ("name", "time_intervals"), what)
    name = node.get("name")
    if not name:
        raise node.error("missing name in time interval", "name")
    specs = []
    for i, spec in enumerate(node.get("time_intervals") or []):
        specs.append(parse_spec(spec, node.get("time_intervals"), i))
    return TimeInterval(str(name), tuple(specs))


def parse_spec(spec, parent, index: int) -> IntervalSpec:
    if not isinstance(spec, dict):
        raise ConfigError("time interval entry must be a mapping", parent.filename, parent.line_of(index))
    check_keys(spec, SPEC_KEYS, "timeinterval.TimeInterval")
    kw: dict = {}
    if spec.get("times"):
        kw["times"] = tuple(_parse_times(spec, t) for t in spec["times"])
    if spec.get("weekdays"):
        kw["weekdays"] = _ranges(spec, "weekdays", lambda s: _named(s, WEEKDAYS, "weekday"))
    if spec.get("days_of_month"):
        kw["days_of_month"] = _ranges(spec, "days_of_month", _day_of_month)
    if spec.get("months"):
        kw["months"] = _ranges(spec, "months", _month)
    if spec.get("years"):
        kw["years"] = _ranges(spec, "years", _int_in(1, 9999, "year"))
    if spec.get("location"):
        loc = str(spec["location"])
        try:
            zone = UTC if loc == "UTC" else ZoneInfo("localtime" if loc == "Local" else loc)
        except (ZoneInfoNotFoundError, ValueError):
            raise spec.error(f"unknown time zone location {loc!r}", "location") from None
        kw["location"], kw["_zone"] = loc, zone
    return IntervalSpec(**kw)


def _parse_times(spec, t) -> tuple[int, int]:
    if not isinstance(t, dict):
        raise spec.error("times entries must be mappings with start_time and end_time", "times")
    check_keys(t, ("start_time", "end_time"), "timeinterval.TimeRange")
    bounds = []
    for key in ("start_time", "end_time"):
        m = _TIME_RE.match(str(t.get(key, "")))
        if not m:
            raise t.error(f"invalid {key} {t.get(key)!r}: expected HH:MM", key)
        h, mi = int(m.group(1)), int(m.group(2))
        if mi > 59 or h > 24 or (h == 24 and mi != 0):
            raise t.error(f"invalid {key} {t.get(key)!r}: out of range", key)
        bounds.append(h * 60 + mi)
    if bounds[0] >= bounds[1]:
        raise t.error("start time cannot be equal or greater than end time", "start_time")
    return bounds[0], bounds[1]


def _ranges(spec, key: str, conv) -> tuple[tuple[int, int], ...]:
    out = []
    for item in spec[key]:
        parts = str(item).split(":")
        if len(parts) > 2:
            raise spec.error(f"invalid range {item!r} in {key}", key)
        try:
            lo = conv(parts[0])
            hi = conv(parts[-1])
        except ValueError as e:
            raise spec.error(f"{key}: {e}", key) from None
        same_sign = (lo > 0) == (hi > 0) if key == "days_of_month" else True
        if same_sign and lo > hi:
            raise spec.error(f"{key}: start {parts[0]} is after end {parts[-1]}", key)
        out.append((lo, hi))
    return tuple(out)


def _named(s: str, table: dict[str, int], what: str) -> int:
    s = s.strip().lower()
    if s not in table:
        raise ValueError(f"{s!r} is not a valid {what}")
    return table[s]


def _month(s: str) -> int:
    s = s.strip()
    if s.lstrip("-").isdigit():
        return _int_in(1, 12, "month")(s)
    return _named(s, MONTHS, "month")


def _day_of_month(s: str) -> int:
    v = int(s) if s.strip().lstrip("-").isdigit() else None
    if v is None or v == 0 or not -31 <= v <= 31:
        raise ValueError(f"{s!r} is not a valid day of the month (1..31 or -31..-1)")
    return v


def _int_in(lo: int, hi: int, what: str):
    def conv(s: str) -> int:
        if not s.strip().isdigit() or not lo <= int(s) <= hi:
            raise ValueError(f"{s!r} is not a valid {what}")
        return int(s)
    return conv
