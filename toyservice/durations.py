"""Durations written the way Prometheus writes them (``90s``, ``2m``, ``1h30m``), for the CLIs.

The toy service's commands take the same duration syntax as Prometheus' flags and PromQL range
selectors, so ``workshop fault latency --for 2m`` reads like the rest of the workshop. A bare number
is taken as seconds.
"""

from __future__ import annotations

import re

# Unit -> seconds, as in Prometheus' model.ParseDuration (a year is 365 days, a week 7 days).
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises ValueError naming the text when it is not a duration."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 30s, 2m, 1h30m)")
    return total
