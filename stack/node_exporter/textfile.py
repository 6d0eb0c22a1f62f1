"""The textfile collector: metrics that cron jobs and scripts write into ``*.prom`` files.

A script that cannot serve HTTP (a backup run, a certificate check) writes exposition text into a
directory; the node exporter serves it with the host's metrics. A bad file must never poison the
scrape: it is skipped, ``node_textfile_scrape_error`` becomes 1 and the other files are served —
and files are parsed by the same strict text-format parser as Pushgateway bodies, so the error in
the log names the file and line. ``node_textfile_mtime_seconds`` lets an alert notice a script that
stopped updating its file.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from stack.exposition import MetricFamily, ParseError, parse_text
from stack.node_exporter.collector import Collector

log = logging.getLogger(__name__)


class TextfileCollector(Collector):
    name = "textfile"

    def __init__(self, *args, directory: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = directory

    def update(self) -> Iterable[Metric]:
        error = 0.0
        mtimes = GaugeMetricFamily(
            "node_textfile_mtime_seconds", "Unixtime mtime of textfiles successfully read.", labels=["file"]
        )
        merged: dict[str, MetricFamily] = {}
        paths = (
            sorted(glob.glob(os.path.join(glob.escape(self.directory), "*.prom"))) if self.directory else []
        )
        for path in paths:
            try:
                families = self._read(path)
                for fam in families:
                    if fam.name in merged and merged[fam.name].type != fam.type:
                        raise ParseError(
                            f"metric {fam.name!r} has type {fam.type} here but "
                            f"{merged[fam.name].type} in another file"
                        )
                mtime = float(int(os.stat(path).st_mtime))  # whole seconds, as upstream
            except (OSError, ParseError, UnicodeDecodeError) as e:
                log.error("failed to collect textfile data from %s: %s", path, e)
                error = 1.0
                continue
            for fam in families:
                if fam.name in merged:
                    merged[fam.name].metrics.extend(fam.metrics)
                else:
                    merged[fam.name] = fam
            mtimes.add_metric([path], mtime)
        out: list[Metric] = [_to_client(f) for f in merged.values()]
        if mtimes.samples:
            out.append(mtimes)
        out.append(
            GaugeMetricFamily(
                "node_textfile_scrape_error",
                "1 if there was an error opening or reading a file, 0 otherwise",
                value=error,
            )
        )
        return out

    def _read(self, path: str) -> list[MetricFamily]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            families = parse_text(text)
        except ParseError as e:
            raise ParseError(f"{path}: {e}") from None
        for fam in families:
            if any(m.timestamp_ms is not None for m in fam.metrics):
                raise ParseError(f"{path}: textfile contains unsupported client-side timestamps")
            if not fam.help:
                fam.help = f"Metric read from {path}"
        return families


def _to_client(fam: MetricFamily) -> Metric:
    """Our family model -> a prometheus_client Metric, sample by sample, names kept as written."""
    m = Metric(fam.name, fam.help, fam.type if fam.type != "untyped" else "unknown")
    for metric in fam.metrics:
        if fam.type == "histogram":
            for bound, count in sorted(metric.buckets.items()):
                m.add_sample(fam.name + "_bucket", {**metric.labels, "le": _bound(bound)}, count)
        elif fam.type == "summary":
            for q, v in sorted(metric.quantiles.items()):
                m.add_sample(fam.name, {**metric.labels, "quantile": _bound(q)}, v)
        else:
            m.add_sample(fam.name, metric.labels, metric.value)
            continue
        m.add_sample(fam.name + "_sum", metric.labels, metric.sum)
        m.add_sample(fam.name + "_count", metric.labels, metric.count)
    return m


def _bound(v: float) -> str:
    from stack.exposition import format_float

    return format_float(v)
