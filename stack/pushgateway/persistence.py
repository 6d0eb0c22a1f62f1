"""Saving the metric store to a file so that a restarted Pushgateway still serves what was pushed.

Batch jobs push once and exit; if the Pushgateway lost their metrics on every restart, alerts on
``time() - push_time_seconds`` would fire for jobs that are perfectly fine. Upstream writes its store
(as Go gob) at most once per ``--persistence.interval`` after a change and on shutdown; we do the
same with JSON, which participants can open and read. The file is written to a temporary file in
the same directory and renamed over the old one, so a crash mid-write never leaves half a file.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path

from stack.exposition import Metric, MetricFamily
from stack.pushgateway.store import Group, MetricStore, TimestampedFamily

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


def save(store: MetricStore, path: str | os.PathLike) -> None:
    """Write every group atomically (temporary file + rename)."""
    path = Path(path)
    doc = {"version": FORMAT_VERSION, "groups": [_group_to_json(g) for g in store.sorted_groups()]}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(store: MetricStore, path: str | os.PathLike) -> int:
    """Replace the store's groups with the file's; returns the number of groups loaded.

    A missing file is an empty store. A damaged file raises ``ValueError`` naming the file; the
    caller logs it and starts empty, as upstream does.
    """
    path = Path(path)
    if not path.exists():
        return 0
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported format version {doc.get('version')!r}")
        groups = [_group_from_json(g) for g in doc["groups"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: cannot load persisted metrics: {e}") from None
    store.restore(groups)
    return len(groups)


def _num(v: float) -> float | str:
    # JSON has no NaN/Inf; store those as strings and everything else as numbers.
    return v if math.isfinite(v) else repr(v)


def _group_to_json(g: Group) -> dict:
    return {
        "labels": g.labels,
        "families": [
            {"timestamp": tf.timestamp, **_family_to_json(tf.family)}
            for _, tf in sorted(g.families.items())
        ],
    }


def _family_to_json(f: MetricFamily) -> dict:
    metrics = []
    for m in f.metrics:
        d: dict = {"labels": m.labels}
        if f.type == "histogram":
            d |= {"buckets": [[_num(b), _num(c)] for b, c in sorted(m.buckets.items())]}
        if f.type == "summary":
            d |= {"quantiles": [[_num(q), _num(v)] for q, v in sorted(m.quantiles.items())]}
        if f.type in ("histogram", "summary"):
            d |= {"count": _num(m.count), "sum": _num(m.sum)}
        else:
            d["value"] = _num(m.value)
        metrics.append(d)
    return {"name": f.name, "type": f.type, "help": f.help, "metrics": metrics}


def _group_from_json(d: dict) -> Group:
    g = Group({str(k): str(v) for k, v in d["labels"].items()})
    for fd in d["families"]:
        metrics = [
            Metric(
                labels={str(k): str(v) for k, v in md["labels"].items()},
                value=float(md.get("value", 0.0)),
                buckets={float(b): float(c) for b, c in md.get("buckets", [])},
                quantiles={float(q): float(v) for q, v in md.get("quantiles", [])},
                count=float(md.get("count", 0.0)),
                sum=float(md.get("sum", 0.0)),
            )
            for md in fd["metrics"]
        ]
        fam = MetricFamily(fd["name"], fd["type"], fd.get("help", ""), metrics)
        g.families[fam.name] = TimestampedFamily(fam, float(fd["timestamp"]))
    return g
