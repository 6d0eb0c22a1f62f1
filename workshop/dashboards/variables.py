"""Template variables and Grafana's built-in intervals, so dashboard queries mean what they mean in Grafana.

A query like ``sum by (path) (rate(http_requests_total{instance=~"$instance"}[$__rate_interval]))``
must work unchanged here and in Grafana. That needs Grafana's three substitution syntaxes
(``$var``, ``${var}``, ``[[var]]``), its regex formatting of multi-value and "All" selections, and
its definitions of the built-ins:

- ``$__interval``: the time range divided by the number of points wanted, rounded to a "nice"
  step and never below the scrape interval (a finer step only repeats samples);
- ``$__rate_interval``: ``max($__interval + scrape interval, 4 * scrape interval)``, the smallest
  range that always holds at least two samples for ``rate()``, even with one scrape missed;
- ``$__range``: the whole range, in seconds (``3600s``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from workshop.dashboards.model import DEFAULT_MAX_DATA_POINTS, Variable

ALL = "$__all"  # Grafana's value for the "All" option
DEFAULT_SCRAPE_INTERVAL_S = 15.0  # Grafana's Prometheus data source default "scrape interval"

# Grafana's interval rounding (rangeutil.roundInterval): a raw interval up to the first bound (ms)
# becomes the second value (ms). Larger than the last bound: one year.
_ROUND_INTERVAL_MS = (
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (27_000_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)
_YEAR_MS = 31_536_000_000

_VAR_RE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(\w+)")
_LABEL_VALUES_RE = re.compile(r"^\s*label_values\s*\(\s*(?:(.*?)\s*,\s*)?([A-Za-z_]\w*)\s*\)\s*$", re.S)
_REGEX_SPECIAL = re.compile(r"[\\^$.|?*+()\[\]{}]")


def round_interval(seconds: float) -> float:
    """Grafana's "nice" interval for a raw one: 14.4 s -> 15 s, 86 s -> 1 m."""
    ms = seconds * 1000
    for bound, nice in _ROUND_INTERVAL_MS:
        if ms <= bound:
            return nice / 1000
    return _YEAR_MS / 1000


def format_duration(seconds: float) -> str:
    """A Prometheus duration for ``seconds``: ``15s``, ``1m``, ``1h30m``, ``500ms``."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for size, unit in (
        (604_800_000, "w"),
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
        (1, "ms"),
    ):
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)


@dataclass(frozen=True)
class Intervals:
    """The built-in variables of one refresh; ``step`` is what range queries use."""

    range_s: float
    interval_s: float
    rate_interval_s: float

    @classmethod
    def for_range(
        cls,
        range_s: float,
        scrape_interval_s: float = DEFAULT_SCRAPE_INTERVAL_S,
        max_data_points: int = DEFAULT_MAX_DATA_POINTS,
    ) -> Intervals:
        interval = max(round_interval(range_s / max_data_points), scrape_interval_s)
        rate_interval = max(interval + scrape_interval_s, 4 * scrape_interval_s)
        return cls(range_s, interval, rate_interval)

    def scope(self) -> dict[str, str]:
        return {
            "__interval": format_duration(self.interval_s),
            "__interval_ms": str(round(self.interval_s * 1000)),
            "__rate_interval": format_duration(self.rate_interval_s),
            "__range": f"{round(self.range_s)}s",
            "__range_s": str(round(self.range_s)),
            "__range_ms": str(round(self.range_s * 1000)),
        }


def parse_label_values(query: str) -> tuple[str | None, str]:
    """``label_values(up{job="x"}, instance)`` -> (``up{job="x"}``, ``instance``); ``label_values(job)``."""
    m = _LABEL_VALUES_RE.match(query)
    if not m:
        raise ValueError(
            f"variable query {query!r} is not label_values(metric, label) or label_values(label)"
        )
    return (m[1] or None), m[2]


def regex_escape(value: str) -> str:
    """Escape a value for a regex matcher *inside a PromQL string*, as Grafana does for multi-value variables.

    The regex needs ``\\.`` and the double-quoted PromQL string needs its backslash doubled, so
    ``127.0.0.1`` becomes ``127\\\\.0\\\\.0\\\\.1`` in the query text.
    """
    return _REGEX_SPECIAL.sub(lambda m: "\\\\" + m[0], value)


def variable_value(var: Variable, options: list[str], selected: list[str]) -> str:
    """The text a variable stands for in a query: the value, or ``(a|b)`` for several or All."""
    values = list(options) if ALL in selected else list(selected)
    if not (var.multi or var.include_all):
        return values[0] if values else ""
    escaped = [regex_escape(v) for v in values]
    if len(escaped) == 1:
        return escaped[0]
    return "(" + "|".join(escaped) + ")"


def interpolate(text: str, scope: Mapping[str, str]) -> str:
    """Replace ``$var``, ``${var}``, ``${var:raw}`` and ``[[var]]``; unknown names are left as they are."""

    def sub(m: re.Match) -> str:
        name = m[1] or m[3] or m[4]
        return scope.get(name, m[0])

    return _VAR_RE.sub(sub, text)


def resolve_variables(
    variables: list[Variable],
    datasource,
    selections: Mapping[str, list[str]] | None = None,
    scope: Mapping[str, str] | None = None,
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, str]]:
    """Options and selection of each variable, in order (a later query may use an earlier variable).

    Returns ``(options, selected, scope)``; ``scope`` maps every name to its text for
    :func:`interpolate`. A selection that is no longer among the options falls back to the first
    option (or All), as Grafana does after the data changed.
    """
    selections = dict(selections or {})
    scope = dict(scope or {})
    all_options: dict[str, list[str]] = {}
    all_selected: dict[str, list[str]] = {}
    for var in variables:
        if var.kind == "custom":
            options = list(var.options)
        else:
            match, label = parse_label_values(interpolate(var.query, scope))
            options = sorted(datasource.label_values(label, match=match))
        wanted = list(selections.get(var.name) or var.current)
        valid = [v for v in wanted if v in options or (v == ALL and var.include_all)]
        if not valid:
            valid = [ALL] if var.include_all and not options else options[:1]
        if not var.multi and len(valid) > 1:
            valid = valid[:1]
        all_options[var.name], all_selected[var.name] = options, valid
        scope[var.name] = variable_value(var, options, valid)
    return all_options, all_selected, scope
