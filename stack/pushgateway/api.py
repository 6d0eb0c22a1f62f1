"""The JSON view of the store served at ``/api/v1/metrics`` (spec §7.1).

Upstream's web UI and tools such as dashboards read pushed groups from here rather than parsing
the text exposition: one object per group with its grouping labels, whether the last push was
accepted, and per family its type, help, the time of the push that set it, and the values as
*strings* in Go's float notation (so ``1e+06``, not ``1000000.0``).
"""

from __future__ import annotations

from datetime import datetime

from stack.exposition import MetricFamily, format_float
from stack.pushgateway.store import Group


def groups_json(groups: list[Group]) -> list[dict]:
    return [group_json(g) for g in groups]


def group_json(g: Group) -> dict:
    out: dict = {"labels": dict(g.labels), "last_push_successful": g.last_push_successful}
    for name, tf in sorted(g.families.items()):
        out[name] = {"time_stamp": rfc3339(tf.timestamp), **family_json(tf.family)}
    return out


def family_json(f: MetricFamily) -> dict:
    d: dict = {"type": f.type.upper()}
    if f.help:
        d["help"] = f.help
    metrics = []
    for m in f.metrics:
        md: dict = {"labels": dict(sorted(m.labels.items()))}
        if f.type == "summary":
            md["quantiles"] = {format_float(q): format_float(v) for q, v in sorted(m.quantiles.items())}
        elif f.type == "histogram":
            md["buckets"] = {format_float(b): format_float(c) for b, c in sorted(m.buckets.items())}
        if f.type in ("summary", "histogram"):
            md["count"] = format_float(m.count)
            md["sum"] = format_float(m.sum)
        else:
            md["value"] = format_float(m.value)
        metrics.append(md)
    d["metrics"] = metrics
    return d


def rfc3339(t: float) -> str:
    """RFC 3339 with nanoseconds, trailing zeros trimmed and the server's offset, like Go's
    ``time.RFC3339Nano`` (which writes ``Z`` for UTC)."""
    dt = datetime.fromtimestamp(t).astimezone()
    frac = f"{dt.microsecond:06d}".rstrip("0")
    base = dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "")
    off = dt.utcoffset()
    if not off:
        return base + "Z"
    minutes = int(off.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{base}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
