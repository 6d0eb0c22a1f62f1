"""``/metrics`` for the toy service, byte for byte what prometheus_client writes, at a fraction of the cost.

prometheus_client re-escapes and re-formats every label of every sample on every scrape (about 5 ms
for the toy service's ~160 series in OpenMetrics). Live that does not matter; in a simulation,
which scrapes three services every 5 s for an hour in a few seconds, it was half of the run time.
The series of a service hardly ever change, so :class:`ExpositionCache` formats each series'
``name{labels}`` prefix and each family's ``# HELP``/``# TYPE`` header once -- with
prometheus_client's own escaping functions, so the result is identical -- and per scrape only
collects the values and joins the lines. The live server and the simulation both use it.

It covers what a prometheus_client registry holds for plain counters, gauges, histograms,
summaries and info metrics. Anything else (exemplars, explicit timestamps, native histograms,
gauge histograms) is handed to prometheus_client's encoder unchanged.
"""

from __future__ import annotations

from prometheus_client import openmetrics
from prometheus_client.exposition import choose_encoder
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

_om = openmetrics.exposition
# Text-format renames of OpenMetrics types (as prometheus_client's text encoder does them).
_TEXT_TYPES = {"info": "gauge", "stateset": "gauge", "unknown": "untyped"}
_TEXT_SUFFIXES = {"counter": "_total", "info": "_info"}


class _Unsupported(Exception):
    """A sample this cache does not format; the scrape falls back to prometheus_client's encoder."""


class ExpositionCache:
    """Renders one registry in the text format or OpenMetrics, remembering what does not change."""

    def __init__(self, registry: Collector):
        self.registry = registry
        self._headers: dict[tuple, str] = {}
        self._prefixes: tuple[dict, dict] = ({}, {})  # (text, OpenMetrics): (name, labels) -> 'name{...} '

    def render(self, accept: str = "") -> tuple[str, bytes]:
        """(Content-Type, body) for an Accept header, as prometheus_client would answer it."""
        # prometheus_client negotiates the format; this class only writes it, for the encodings it
        # knows (1.0.0 OpenMetrics or the text format; name escaping only matters for names that
        # are not legacy-valid, and those fall back).
        encoder, content_type = choose_encoder(accept)
        function = getattr(encoder, "func", encoder)
        options = getattr(encoder, "keywords", {})
        known = function in (generate_text, generate_openmetrics)
        if not known or options.get("version", "1.0.0") != "1.0.0":
            return content_type, encoder(self.registry)
        try:
            return content_type, self._render(function is generate_openmetrics)
        except _Unsupported:
            return content_type, encoder(self.registry)

    def _render(self, om: bool) -> bytes:
        out: list[str] = []
        prefixes = self._prefixes[om]
        for metric in self.registry.collect():
            key = (metric.name, metric.type, metric.documentation, metric.unit, om)
            header = self._headers.get(key)
            if header is None:
                header = self._headers[key] = _header(metric, om)
            out.append(header)
            created: list[str] = []  # the text format moves *_created samples into a gauge family after
            created_name = metric.name + "_created"
            for s in metric.samples:
                if s.exemplar or s.timestamp is not None or s.native_histogram:
                    raise _Unsupported
                labels = s.labels
                pkey = (s.name, tuple(labels.items())) if labels else s.name
                prefix = prefixes.get(pkey)
                if prefix is None:
                    prefix = prefixes[pkey] = _prefix(s.name, labels)
                (created if not om and s.name == created_name else out).append(f"{prefix}{_value(s.value)}\n")
            if created:
                doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
                out.append(f"# HELP {created_name} {doc}\n# TYPE {created_name} gauge\n")
                out.extend(created)
        if om:
            out.append("# EOF\n")
        return "".join(out).encode()


def _header(metric, om: bool) -> str:
    if not _om._is_valid_legacy_metric_name(metric.name):
        raise _Unsupported
    if om:
        name = metric.name
        doc = _om._escape(metric.documentation, _om.ALLOWUTF8, _om._is_legacy_labelname_rune)
        unit = f"# UNIT {name} {metric.unit}\n" if metric.unit else ""
        return f"# HELP {name} {doc}\n# TYPE {name} {metric.type}\n{unit}"
    if metric.type in ("gaugehistogram",):
        raise _Unsupported  # its _gsum/_gcount samples become separate families in the text format
    name = metric.name + _TEXT_SUFFIXES.get(metric.type, "")
    doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {_TEXT_TYPES.get(metric.type, metric.type)}\n"


def _prefix(name: str, labels: dict[str, str]) -> str:
    if not _om._is_valid_legacy_metric_name(name) or not all(map(_om._is_valid_legacy_labelname, labels)):
        raise _Unsupported  # UTF-8 names depend on the negotiated escaping: left to prometheus_client
    pairs = ",".join(f'{k}="{_escape_value(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{pairs}}} " if pairs else f"{name} "


def _value(v: float) -> str:
    # floatToGoString returns Python's repr below a million (Go switches to exponents only above),
    # so the common case skips its checks.
    return repr(float(v)) if -1e6 < v < 1e6 else floatToGoString(v)


def _escape_value(value: str) -> str:
    return _om._escape(value, _om.ALLOWUTF8, _om._is_legacy_labelname_rune)
