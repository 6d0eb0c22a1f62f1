"""Numbers as people read them on a dashboard: ``1.50 ms``, ``2.30 GiB``, ``45%``, ``12.3 req/s``.

A panel's unit is one of Grafana's unit ids (``s``, ``bytes``, ``percentunit``...), so the same
dashboard reads the same in a notebook and in Grafana. Each unit is one entry in ``_FORMATS``:
a function from a value to (scaled number, suffix). Axis ticks use the same functions through
:func:`axis_formatter`, so an axis and the stat next to it never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from matplotlib.ticker import Formatter

# Grafana's time unit ladder ("s" unit): the largest unit the value is at least one of.
_TIME_STEPS = (
    (365 * 86400, "year"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "min"),
    (1, "s"),
    (1e-3, "ms"),
    (1e-6, "µs"),
    (1e-9, "ns"),
)
_IEC = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")  # Grafana "bytes": powers of 1024
_SI_BYTES = ("B", "kB", "MB", "GB", "TB", "PB")  # Grafana "decbytes": powers of 1000
_SHORT = ("", " K", " Mil", " Bil", " Tri")  # Grafana "short" suffixes, powers of 1000


def _scaled(value: float, base: float, suffixes: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while abs(value) >= base and i < len(suffixes) - 1:
        value /= base
        i += 1
    return value, suffixes[i]


def _time(value: float) -> tuple[float, str]:
    if value == 0:
        return 0.0, " s"
    for size, name in _TIME_STEPS:
        if abs(value) >= size:
            return value / size, f" {name}"
    return value / 1e-9, " ns"


def _suffixed(suffixes, base, sep=" ", after=""):
    def fmt(value: float) -> tuple[float, str]:
        v, s = _scaled(value, base, suffixes)
        return v, (f"{sep}{s}{after}" if s else after)

    return fmt


_FORMATS: dict[str, Callable[[float], tuple[float, str]]] = {
    "short": lambda v: _scaled(v, 1000, _SHORT),
    "none": lambda v: (v, ""),
    "s": _time,
    "ms": lambda v: _time(v / 1000),
    "bytes": _suffixed(_IEC, 1024),
    "decbytes": _suffixed(_SI_BYTES, 1000),
    "Bps": _suffixed(_SI_BYTES, 1000, after="/s"),
    "binBps": _suffixed(_IEC, 1024, after="/s"),
    "percent": lambda v: (v, "%"),
    "percentunit": lambda v: (v * 100, "%"),
    "reqps": lambda v: (_scaled(v, 1000, _SHORT)[0], _scaled(v, 1000, _SHORT)[1] + " req/s"),
    "ops": lambda v: (_scaled(v, 1000, _SHORT)[0], _scaled(v, 1000, _SHORT)[1] + " ops/s"),
}


def _auto_decimals(v: float) -> int:
    """About three significant figures, at most two decimals (``1.5 ms``, ``12.3 req/s``, ``123``)."""
    a = abs(v)
    if a == 0 or a >= 100:
        return 0
    if a >= 10:
        return 1
    return 2


def format_value(value: float, unit: str = "short", decimals: int | None = None) -> str:
    """One value formatted for ``unit``: ``format_value(0.0015, "s") == "1.5 ms"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "No data"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    scaled, suffix = _FORMATS.get(unit, _FORMATS["short"])(float(value))
    if decimals is not None:
        return f"{scaled:.{decimals}f}{suffix}"
    text = f"{scaled:.{_auto_decimals(scaled)}f}"
    if "." in text:  # trailing zeros carry no information: "45%", "1.5 ms"
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return f"{text}{suffix}"


class UnitFormatter(Formatter):
    """Tick labels for ``unit`` that share one scale and enough decimals to tell neighbours apart.

    Formatting each tick on its own gives ``3.49 MB/s`` five times on a narrow range, or mixes
    ``900 ms`` and ``1 s`` on one axis. Here the largest tick picks the suffix for all of them and the
    tick spacing picks the decimals, as Grafana's axes do.
    """

    def __init__(self, unit: str, decimals: int | None = None):
        self.unit = unit
        self.decimals = decimals
        self._factor, self._suffix, self._places = 1.0, None, None

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        finite = [float(v) for v in locs if math.isfinite(v)]
        biggest = max((abs(v) for v in finite), default=0.0)
        self._suffix = None
        if biggest == 0:
            return
        scaled, self._suffix = _FORMATS.get(self.unit, _FORMATS["short"])(biggest)
        self._factor = biggest / scaled if scaled else 1.0
        steps = [abs(b - a) / self._factor for a, b in zip(finite, finite[1:], strict=False) if b != a]
        step = min(steps, default=abs(scaled))
        self._places = (
            self.decimals
            if self.decimals is not None
            else _places_for([v / self._factor for v in finite], step)
        )

    def __call__(self, value: float, pos=None) -> str:
        if self._suffix is None or pos is None:
            return format_value(value, self.unit, self.decimals)
        text = f"{value / self._factor:.{self._places}f}"
        if text.lstrip("-").strip("0.") == "":
            text = "0"
        return f"{text}{self._suffix}"


def _places_for(ticks: list[float], step: float) -> int:
    """The fewest decimals (up to 4) that print every tick within 1 % of the tick spacing."""
    for places in range(5):
        if all(abs(round(t, places) - t) < step * 0.01 for t in ticks):
            return places
    return 4


def axis_formatter(unit: str, decimals: int | None = None) -> UnitFormatter:
    """A matplotlib tick formatter for ``unit`` (``0 s, 0.5 s, 1 s``; ``1 GiB, 1.5 GiB``)."""
    return UnitFormatter(unit, decimals)
