"""Prometheus durations (``1h30m``, ``5m``, ``15s``, ``100ms``) as used in every config file.

Units and order follow upstream's ``model.ParseDuration``: y (365d), w, d, h, m, s, ms, each at
most once and in decreasing order; ``0`` alone is allowed. Values are returned in seconds (float)
by :func:`parse_duration` and in integer milliseconds by :func:`parse_duration_ms`.
"""

from __future__ import annotations

import re

_UNITS_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000,
             "m": 60_000, "s": 1000, "ms": 1}
_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration_ms(text: str) -> int:
    """``"1m30s"`` -> 90000. Raises ValueError with upstream's wording on a bad duration."""
    s = str(text).strip()
    if s == "0":
        return 0
    m = _DURATION_RE.match(s)
    if not s or not m or not any(m.groups()):
        raise ValueError(f'not a valid duration string: "{text}"')
    total = 0
    for value, unit in zip(m.groups(), ("y", "w", "d", "h", "m", "s", "ms"), strict=True):
        if value is not None:
            total += int(value) * _UNITS_MS[unit]
    return total


def parse_duration(text: str) -> float:
    return parse_duration_ms(text) / 1000.0


def format_duration_ms(ms: int) -> str:
    """Render as upstream does: ``90000`` -> ``"1m30s"``, ``0`` -> ``"0s"``."""
    if ms == 0:
        return "0s"
    out, rest = [], ms
    for unit in ("y", "w", "d", "h", "m", "s", "ms"):
        n, rest = divmod(rest, _UNITS_MS[unit])
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
