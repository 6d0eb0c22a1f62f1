"""How each panel type draws its data onto one matplotlib Axes.

One function per Grafana panel type, registered in ``DRAW`` (the table ``render`` dispatches on),
so adding a panel type is one function and one entry. Each function gets the Axes, the panel and
its query results as long frames, and never touches the figure: layout is ``render``'s job.

Colours matter more than they seem: when "/api/foo" is green in the request-rate panel it must be
green in the latency panel too, or readers match the wrong lines. A series' colour is therefore a
stable hash of its legend into a fixed palette (the same in every process, unlike ``hash()``).
"""

from __future__ import annotations

import math
import re
import textwrap
import zlib

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.colors import is_color_like
from matplotlib.patches import Wedge
from matplotlib.ticker import MaxNLocator

from workshop.dashboards.model import Panel, Threshold
from workshop.dashboards.units import axis_formatter, format_value

# Grafana's classic series palette.
PALETTE = (
    "#7EB26D",
    "#EAB839",
    "#6ED0E0",
    "#EF843C",
    "#E24D42",
    "#1F78C1",
    "#BA43A9",
    "#705DA0",
    "#508642",
    "#CCA300",
    "#447EBC",
    "#C15C17",
    "#890F02",
    "#0A437C",
    "#6D1F62",
    "#584477",
)
# Grafana's named threshold colours.
NAMED_COLORS = {
    "green": "#73BF69",
    "red": "#F2495C",
    "orange": "#FF9830",
    "yellow": "#FADE2A",
    "blue": "#5794F2",
    "purple": "#B877D9",
    "text": "#333333",
    "transparent": "#FFFFFF",
}
DEFAULT_COLOR = "#73BF69"  # Grafana's default base threshold: green
MAX_LEGEND_ENTRIES = 6  # more series than this: the legend lists these and "+N more"
MAX_STAT_VALUES = 6
MAX_BARS = 15
MAX_TABLE_ROWS = 12
_LEGEND_RE = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")


# --- series, legends, colours ---------------------------------------------------------------------


def label_columns(frame: pd.DataFrame) -> list[str]:
    cols = getattr(frame, "label_columns", None)
    if cols is None:
        cols = [c for c in frame.columns if c not in ("timestamp", "value")]
    return [c for c in cols if c in frame.columns]


def series_name(labels: dict[str, str]) -> str:
    """Prometheus' own notation, used when a target has no legend: ``up{instance="a", job="b"}``."""
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def legend_for(template: str, labels: dict[str, str]) -> str:
    """Grafana's ``legendFormat``: ``{{path}} {{status}}`` filled from the series' labels."""
    if not template:
        return series_name(labels)
    return _LEGEND_RE.sub(lambda m: labels.get(m[1], ""), template)


def split_series(frame: pd.DataFrame) -> list[tuple[dict[str, str], pd.DataFrame]]:
    """The series of a long frame, each as (labels, its rows sorted by time), in label order."""
    if frame is None or frame.empty:
        return []
    cols = label_columns(frame)
    if not cols:
        return [({}, frame.sort_values("timestamp"))]
    out = []
    for key, rows in frame.groupby(cols, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        labels = {c: str(v) for c, v in zip(cols, key, strict=True) if isinstance(v, str)}
        out.append((labels, rows.sort_values("timestamp")))
    return out


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def color_for(name: str) -> str:
    return PALETTE[zlib.crc32(name.encode()) % len(PALETTE)]


def threshold_color(thresholds: list[Threshold], value: float) -> str:
    """The colour of the highest step at or below ``value`` (the base step when none is)."""
    color = DEFAULT_COLOR
    steps = sorted((t for t in thresholds if t.value is not None), key=lambda t: t.value)
    base = [t for t in thresholds if t.value is None]
    if base:
        color = base[0].color
    if value is not None and not math.isnan(value):
        for t in steps:
            if value >= t.value:
                color = t.color
    return grafana_color(color)


_RGBA_RE = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)")
_SHADES = ("super-light-", "light-", "semi-dark-", "dark-")  # Grafana's shades of its named colours


def grafana_color(color: str):
    """A matplotlib colour from Grafana's forms: ``dark-red``, ``#73BF69``, ``rgba(50, 172, 45, 0.97)``."""
    m = _RGBA_RE.fullmatch(color.strip())
    if m:
        r, g, b = (float(m[i]) / 255 for i in (1, 2, 3))
        return (r, g, b, float(m[4]) if m[4] else 1.0)
    for shade in _SHADES:
        color = color.removeprefix(shade)
    if color in NAMED_COLORS:
        return NAMED_COLORS[color]
    return color if is_color_like(color) else DEFAULT_COLOR


def _naive_utc(ts: pd.Series) -> np.ndarray:
    return ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


def _results(data) -> list[tuple[str, dict[str, str], pd.DataFrame]]:
    """(legend, labels, rows) for every series of every target of a panel."""
    out = []
    for result in data.results:
        for labels, rows in split_series(result.frame):
            out.append((legend_for(result.target.legend, labels), labels, rows))
    return out


def _message(ax, text: str, color: str = "#777777") -> None:
    """A centred note ("No data", an error) that never pushes the layout around."""
    width = max(20, int(ax.get_position().width * 110))
    note = ax.text(
        0.5,
        0.5,
        textwrap.fill(text, width),
        ha="center",
        va="center",
        transform=ax.transAxes,
        color=color,
        fontsize=8,
        clip_on=True,
    )
    note.set_in_layout(False)


def _errors(ax, data) -> bool:
    errors = [r.error for r in data.results if r.error]
    if errors:
        _message(ax, "Error: " + textwrap.shorten(errors[0], 160), "#C4162A")
    return bool(errors)


def _legend(ax, handles, names: list[str]) -> None:
    if not handles:
        return
    shown = min(len(handles), MAX_LEGEND_ENTRIES)
    labels = [truncate(n, 26) for n in names[:shown]]
    handles = list(handles[:shown])
    if len(names) > shown:
        handles.append(ax.plot([], [], " ")[0])
        labels.append(f"+{len(names) - shown} more")
    ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
        frameon=False,
        borderaxespad=0.0,
        handlelength=1.2,
    )


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


# --- panel types ------------------------------------------------------------------------------------


def draw_timeseries(ax, panel: Panel, data, time_range) -> None:
    ax.xaxis.set_major_locator(locator := mdates.AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    ax.set_xlim(
        np.datetime64(int(time_range.start * 1000), "ms"), np.datetime64(int(time_range.end * 1000), "ms")
    )
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_formatter(axis_formatter(panel.unit, panel.decimals))
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.tick_params(labelsize=7)
    if _errors(ax, data):
        return
    series = _results(data)
    if not series:
        _message(ax, "No data")
        return
    names = [name for name, _, _ in series]
    if panel.stack:
        wide = (
            pd.concat(
                {i: rows.set_index("timestamp")["value"] for i, (_, _, rows) in enumerate(series)}, axis=1
            )
            .sort_index()
            .fillna(0.0)
        )
        handles = ax.stackplot(
            _naive_utc(wide.index.to_series()),
            wide.to_numpy().T,
            colors=[color_for(n) for n in names],
            alpha=0.85,
            linewidth=0.4,
        )
    else:
        handles = [
            ax.plot(
                _naive_utc(rows["timestamp"]),
                rows["value"].to_numpy(),
                color=color_for(name),
                linewidth=1.1,
                label=name,
            )[0]
            for name, _, rows in series
        ]
    values = np.concatenate([rows["value"].to_numpy(dtype=float) for _, _, rows in series])
    finite = values[np.isfinite(values)]
    if panel.min is not None or panel.max is not None:
        ax.set_ylim(panel.min, panel.max)
    elif panel.unit in ("percent", "percentunit") or panel.stack:
        ax.set_ylim(bottom=0)
    elif len(finite) and finite.min() == finite.max() and finite.min() >= 0:
        ax.set_ylim(0, finite.max() * 2 or 1)  # a flat non-negative line: no negative axis around it
    _legend(ax, handles, names)


def _last_values(data) -> list[tuple[str, float]]:
    out = []
    for name, _, rows in _results(data):
        values = rows["value"].to_numpy(dtype=float)
        finite = values[~np.isnan(values)]
        out.append((name, float(finite[-1]) if len(finite) else math.nan))
    return out


def draw_stat(ax, panel: Panel, data, time_range) -> None:
    _bare(ax)
    if _errors(ax, data):
        return
    values = _last_values(data)[:MAX_STAT_VALUES]
    if not values:
        _message(ax, "No data")
        return
    n = len(values)
    for i, (name, value) in enumerate(values):
        x = (i + 0.5) / n
        color = threshold_color(panel.thresholds, value)
        ax.add_patch(_rounded(ax, i / n + 0.01, 1 / n - 0.02, color))
        big = ax.text(
            x,
            0.5,
            format_value(value, panel.unit, panel.decimals),
            ha="center",
            va="center",
            fontsize=20 if n <= 2 else 13,
            fontweight="bold",
            color="white",
            transform=ax.transAxes,
        )
        big.set_in_layout(False)
        if n > 1:
            small = ax.text(
                x,
                0.12,
                truncate(name, 28),
                ha="center",
                va="center",
                fontsize=7,
                color="white",
                transform=ax.transAxes,
            )
            small.set_in_layout(False)


def _rounded(ax, x: float, width: float, color: str):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch(
        (x, 0.04),
        width,
        0.92,
        boxstyle="round,pad=0,rounding_size=0.03",
        transform=ax.transAxes,
        facecolor=color,
        edgecolor="none",
    )


def _gauge_range(panel: Panel, values: list[float]) -> tuple[float, float]:
    low = panel.min if panel.min is not None else 0.0
    if panel.max is not None:
        return low, panel.max
    if panel.unit == "percent":
        return low, 100.0
    if panel.unit == "percentunit":
        return low, 1.0
    finite = [v for v in values if not math.isnan(v)] + [
        t.value for t in panel.thresholds if t.value is not None
    ]
    top = max(finite, default=1.0)
    return low, top * 1.2 if top > 0 else 1.0


def draw_gauge(ax, panel: Panel, data, time_range) -> None:
    _bare(ax)
    if _errors(ax, data):
        return
    values = _last_values(data)[:MAX_STAT_VALUES]
    if not values:
        _message(ax, "No data")
        return
    low, high = _gauge_range(panel, [v for _, v in values])
    n = len(values)
    ax.set_xlim(0, 2.4 * n)
    ax.set_ylim(-0.35, 1.1)
    ax.set_aspect("equal", adjustable="box", anchor="C")
    for i, (name, value) in enumerate(values):
        cx = 1.2 + 2.4 * i
        frac = 0.0 if math.isnan(value) else min(max((value - low) / (high - low), 0.0), 1.0)
        ax.add_patch(Wedge((cx, 0), 1.0, 0, 180, width=0.25, facecolor="#eeeeee"))
        ax.add_patch(
            Wedge(
                (cx, 0),
                1.0,
                180 - 180 * frac,
                180,
                width=0.25,
                facecolor=threshold_color(panel.thresholds, value),
            )
        )
        steps = sorted([t for t in panel.thresholds if t.value is not None], key=lambda t: t.value)
        edges = [low] + [min(max(t.value, low), high) for t in steps] + [high]
        colors = [threshold_color(panel.thresholds, e) for e in edges[:-1]]
        for a, b, c in zip(edges[:-1], edges[1:], colors, strict=True):
            t0, t1 = 180 - 180 * (b - low) / (high - low), 180 - 180 * (a - low) / (high - low)
            ax.add_patch(Wedge((cx, 0), 1.07, t0, t1, width=0.05, facecolor=c))
        ax.text(
            cx,
            0.12,
            format_value(value, panel.unit, panel.decimals),
            ha="center",
            va="center",
            fontsize=14,
            fontweight="bold",
            color=threshold_color(panel.thresholds, value),
        )
        if n > 1:
            ax.text(cx, -0.22, truncate(name, 24), ha="center", fontsize=7)


def draw_bar(ax, panel: Panel, data, time_range) -> None:
    if _errors(ax, data):
        _bare(ax)
        return
    values = _last_values(data)
    if not values:
        _bare(ax)
        _message(ax, "No data")
        return
    values = values[:MAX_BARS]
    names = [truncate(n, 18) for n, _ in values]
    nums = [0.0 if math.isnan(v) else v for _, v in values]
    y = np.arange(len(values))[::-1]
    if panel.thresholds:
        colors = [threshold_color(panel.thresholds, v) for v in nums]
    else:  # no thresholds: each bar in its series' colour, as in the time series panels
        colors = [color_for(n) for n, _ in values]
    ax.barh(y, nums, color=colors, height=0.7)
    ax.set_yticks(y, names, fontsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.xaxis.set_major_formatter(axis_formatter(panel.unit, panel.decimals))
    ax.tick_params(axis="x", labelsize=7)
    if panel.max is not None or panel.min is not None:
        ax.set_xlim(panel.min or 0, panel.max)
    for yi, v in zip(y, nums, strict=True):
        ax.text(v, yi, " " + format_value(v, panel.unit, panel.decimals), va="center", fontsize=7)


def draw_table(ax, panel: Panel, data, time_range) -> None:
    _bare(ax)
    if _errors(ax, data):
        return
    rows = []
    for result in data.results:
        for labels, series in split_series(result.frame):
            value = series["value"].to_numpy(dtype=float)
            rows.append(
                ({k: v for k, v in labels.items() if k != "__name__"}, value[-1] if len(value) else math.nan)
            )
    if not rows:
        _message(ax, "No data")
        return
    columns = sorted({k for labels, _ in rows for k in labels})
    cells = [
        [labels.get(c, "") for c in columns] + [format_value(v, panel.unit, panel.decimals)]
        for labels, v in rows[:MAX_TABLE_ROWS]
    ]
    if len(rows) > MAX_TABLE_ROWS:
        cells.append(["…"] * len(columns) + [f"+{len(rows) - MAX_TABLE_ROWS} more"])
    table = ax.table(cellText=cells, colLabels=[*columns, "Value"], loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7)


def draw_heatmap(ax, panel: Panel, data, time_range) -> None:
    """A classic histogram over time: bucket rates de-cumulated by ``le``, one column per step."""
    if _errors(ax, data):
        _bare(ax)
        return
    frames = [r.frame for r in data.results if r.frame is not None and not r.frame.empty]
    if not frames:
        _bare(ax)
        _message(ax, "No data")
        return
    frame = pd.concat(frames)
    if "le" not in frame.columns:
        _bare(ax)
        _message(ax, "heatmap needs a classic histogram: a query returning series with an 'le' label")
        return
    grid = frame.pivot_table(index="timestamp", columns="le", values="value", aggfunc="sum").sort_index()
    bounds = sorted(grid.columns, key=lambda le: float(le))
    cumulative = grid[bounds].to_numpy(dtype=float)
    counts = np.clip(np.diff(cumulative, axis=1, prepend=0.0), 0.0, None)  # buckets are cumulative
    times = _naive_utc(grid.index.to_series())
    step = np.diff(times).min() if len(times) > 1 else np.timedelta64(15, "s")
    x_edges = np.append(times, times[-1] + step)
    mesh = ax.pcolormesh(x_edges, np.arange(len(bounds) + 1), counts.T, cmap="Oranges", shading="flat")
    mesh.set_gid("heatmap")
    fmt = axis_formatter(panel.unit, panel.decimals)
    labels = [("+Inf" if math.isinf(float(b)) else fmt(float(b))) for b in bounds]
    every = max(1, math.ceil(len(bounds) / 8))
    ax.set_yticks(np.arange(len(bounds))[::every] + 0.5, labels[::every], fontsize=7)
    ax.xaxis.set_major_locator(locator := mdates.AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    ax.tick_params(axis="x", labelsize=7)


def draw_text(ax, panel: Panel, data, time_range) -> None:
    """Markdown-ish: ``#`` headings, ``-``/``*`` bullets, ``**bold**`` dropped to plain text."""
    _bare(ax)
    width = max(20, panel.width * 5)
    y = 0.95
    for raw in panel.content.splitlines() or [""]:
        line = raw.strip().replace("**", "").replace("`", "")
        size, weight = 8, "normal"
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            line, size, weight = line.lstrip("#").strip(), max(12 - 2 * level, 8), "bold"
        elif line[:2] in ("- ", "* "):
            line = "• " + line[2:]
        for part in textwrap.wrap(line, width) or [""]:
            ax.text(
                0.02,
                y,
                part,
                ha="left",
                va="top",
                fontsize=size,
                fontweight=weight,
                transform=ax.transAxes,
                clip_on=True,
            ).set_in_layout(False)
            y -= 0.06 + size * 0.006


DRAW = {
    "timeseries": draw_timeseries,
    "stat": draw_stat,
    "gauge": draw_gauge,
    "bar": draw_bar,
    "table": draw_table,
    "heatmap": draw_heatmap,
    "text": draw_text,
}
