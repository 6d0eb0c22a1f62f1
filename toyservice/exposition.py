"""``/metrics`` for the toy service, byte for byte what prometheus_client writes, at a fraction of the cost.

Why: the in-process :class:`~workshop.simulation.Simulation` scrapes three toy services, a node
exporter and Prometheus itself every 5 s of virtual time: an hour of it is ~3,600 renders in a few
seconds of real time. prometheus_client's own encoder re-escapes every label of every sample on every scrape:
that was half of the simulation's run time. With the formatting cached, rendering was still a fifth
of it, mostly ``registry.collect()`` building a ``Metric`` and a ``Sample`` namedtuple (with a fresh
labels dict) per sample. The live server uses the same class, where it merely does not hurt.

How, in two layers, both producing exactly prometheus_client's bytes (text format 0.0.4 and
OpenMetrics 1.0.0; every other negotiated format is left to prometheus_client's encoder):

* **Fast path** -- prometheus_client's plain ``Counter``, ``Gauge``, ``Histogram`` and ``Summary``
  (labelled or not) are read directly, without ``collect()``: per family a list of rows, one per
  child, holding the child's value objects and its series' ``name{labels} `` prefixes formatted
  once. A row is kept per label values and reused while the child object is the same, so children
  added, removed (``.remove()``, ``.clear()``) or re-created are noticed at the next render. Rows
  follow the order ``collect()`` uses (the ``_metrics`` dict's) and per child the samples of its
  ``_child_samples()`` (histogram buckets cumulated as floats, then ``_count``, ``_sum``,
  ``_created`` while prometheus_client's process-wide ``_use_created`` is on). Registries
  (also one registered inside another, as the toy service does) are walked in
  ``CollectorRegistry.collect()``'s order.
* **Collected path** -- everything else (custom collectors, ``Info``, ``Enum``, a gauge with
  ``set_function``, multiprocess values, exemplars, subclasses that override sampling, another
  prometheus_client layout) goes through ``collect()``; its series' prefixes and families' headers
  are still formatted once and remembered. A sample that path cannot write (exemplars, explicit
  timestamps, native histograms, gauge histograms in the text format, names that are not
  legacy-valid) hands the whole scrape to prometheus_client's encoder.

The fast path relies on private attributes of prometheus_client (checked against 0.26.0):
``CollectorRegistry._lock/_collector_to_names/_target_info``, ``MetricWrapperBase._lock/_metrics/
_labelnames/_is_parent/_name/_get_metric``, per child ``_value``/``_count``/``_sum``/``_buckets``/
``_upper_bounds``/``_created``, ``values.MutexValue._value/_exemplar`` and ``metrics._use_created``.
Anything missing or of another type sends that collector down the collected path instead; it never
fails a scrape. tests/toyservice/test_exposition.py compares both paths with the encoder.
"""

from __future__ import annotations

import prometheus_client.metrics as _client_metrics
from prometheus_client import openmetrics, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.metrics import Counter, Gauge, Histogram, Summary
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

_om = openmetrics.exposition
# Text-format renames of OpenMetrics types (as prometheus_client's text encoder does them).
_TEXT_TYPES = {"info": "gauge", "stateset": "gauge", "unknown": "untyped"}
_TEXT_SUFFIXES = {"counter": "_total", "info": "_info"}
# The methods between a plain metric and its samples: a subclass that overrides any of them, or an
# instance that replaces one (Gauge.set_function does), is not read directly.
_SAMPLING = ("collect", "_get_metric", "_samples", "_multi_samples", "_child_samples", "_is_parent")
_REGISTRY_ATTRIBUTES = ("_lock", "_collector_to_names", "_target_info", "_target_info_metric")
_MutexValue = getattr(values, "MutexValue", None)
# Without these (another prometheus_client) every collector takes the collected path.
_FAST = _MutexValue is not None and hasattr(_client_metrics, "_use_created")


class _Unsupported(Exception):
    """A sample this cache does not format; the scrape falls back to prometheus_client's encoder."""


class _NotPlain(Exception):
    """A family the fast path cannot read exactly; it is collected instead (for this render)."""


class ExpositionCache:
    """Renders one registry in the text format or OpenMetrics, remembering what does not change."""

    def __init__(self, registry: Collector):
        self.registry = registry
        self._negotiated: dict[str, tuple] = {}  # Accept header -> (encoder, Content-Type, om or None)
        self._writer = None  # how to write self.registry, built at the first render
        self._headers: dict[tuple, str] = {}  # collected path: family -> '# HELP ...'
        self._prefixes: dict = {}  # collected path: (name, labels) -> 'name{...} ' (same in both formats)

    def render(self, accept: str = "") -> tuple[str, bytes]:
        """(Content-Type, body) for an Accept header, as prometheus_client would answer it."""
        negotiated = self._negotiated.get(accept)
        if negotiated is None:
            if len(self._negotiated) > 32:  # a client sending ever new headers cannot grow it
                self._negotiated.clear()
            negotiated = self._negotiated[accept] = _negotiate(accept)
        encoder, content_type, om = negotiated
        if om is None:
            return content_type, encoder(self.registry)
        try:
            return content_type, self._render(om)
        except _Unsupported:
            return content_type, encoder(self.registry)

    def _render(self, om: bool) -> bytes:
        if self._writer is None:
            self._writer = _writer_for(self.registry)
        out: list[str] = []
        self._writer.write(self, out, om)
        if om:
            out.append("# EOF\n")
        return "".join(out).encode()

    def _write_collected(self, collector: Collector, out: list[str], om: bool) -> None:
        """The collected path: ``collector.collect()``'s families, with remembered prefixes."""
        for metric in collector.collect():
            self._write_metric(metric, out, om)

    def _write_metric(self, metric, out: list[str], om: bool) -> None:
        key = (metric.name, metric.type, metric.documentation, metric.unit, om)
        header = self._headers.get(key)
        if header is None:
            header = self._headers[key] = _header(metric, om)
        out.append(header)
        prefixes = self._prefixes
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
            out.append(_created_header(metric))
            out.extend(created)


def _negotiate(accept: str) -> tuple:
    """prometheus_client's choice of encoder, and whether this class writes it (True: OpenMetrics)."""
    # This class only writes 1.0.0 OpenMetrics and the text format; name escaping only matters for
    # names that are not legacy-valid, and those fall back.
    encoder, content_type = choose_encoder(accept)
    function = getattr(encoder, "func", encoder)
    options = getattr(encoder, "keywords", {})
    known = function in (generate_text, generate_openmetrics)
    om = function is generate_openmetrics if known and options.get("version", "1.0.0") == "1.0.0" else None
    return encoder, content_type, om


def _writer_for(collector: Collector):
    """The cheapest exact way to write a collector: walk a registry, read a plain metric, or collect."""
    cls = type(collector)
    plain_registry = isinstance(collector, CollectorRegistry) and cls.collect is CollectorRegistry.collect
    if plain_registry and all(hasattr(collector, a) for a in _REGISTRY_ATTRIBUTES):
        return _Registry(collector)
    if _FAST:
        for kind, write in _KINDS.items():
            if isinstance(collector, kind):
                plain = all(getattr(cls, m, None) is getattr(kind, m) for m in _SAMPLING)
                if plain and not any(m in vars(collector) for m in _SAMPLING):
                    try:
                        return _Family(collector, kind, write)
                    except AttributeError:  # not the layout this module knows
                        pass
                break
    return _Collected(collector)


class _Collected:
    """Any collector, written from its ``collect()``."""

    def __init__(self, collector: Collector):
        self.collector = collector

    def write(self, cache: ExpositionCache, out: list[str], om: bool) -> None:
        cache._write_collected(self.collector, out, om)


class _Registry:
    """A ``CollectorRegistry``, walked like its ``collect()``: target info, then its collectors in
    registration order, each with its writer (kept while the collector stays registered)."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry
        self.collectors: list = []
        self.writers: list = []

    def write(self, cache: ExpositionCache, out: list[str], om: bool) -> None:
        registry = self.registry
        with registry._lock:
            collectors = list(registry._collector_to_names)
            target = registry._target_info_metric() if registry._target_info else None
        if collectors != self.collectors:
            kept = dict(zip(self.collectors, self.writers, strict=True))
            self.writers = [kept.get(c) or _writer_for(c) for c in collectors]
            self.collectors = collectors
        if target is not None:
            cache._write_metric(target, out, om)
        for writer in self.writers:
            writer.write(cache, out, om)


class _Family:
    """A plain Counter, Gauge, Histogram or Summary, read from its children's values.

    ``rows`` has one tuple per child, in ``collect()``'s order: the child, its value objects and
    its series' prefixes (see the ``_write_*`` functions for each kind's layout). It is rebuilt when
    the children are not those it was built for, reusing the row of each child still there.
    """

    def __init__(self, metric, kind: type, write):
        self.metric = metric
        self.kind = kind
        self.write_rows = write
        family = metric._get_metric()
        self.name = metric._name
        self.labelnames = tuple(metric._labelnames)
        self.parent = bool(metric._is_parent())
        self.headers = (_header(family, False), _header(family, True))
        self.created_header = _created_header(family)
        self.items: list | None = None  # the (label values, child) pairs that rows were built for
        self.rows: list | None = None  # None: a child is not plain, collect the family instead
        self.by_key: dict = {}  # label values -> row, to reuse on rebuilds
        if self.parent:
            metric._lock, metric._metrics  # noqa: B018 - what write() reads
        else:
            self._rebuild([((), metric)])

    def write(self, cache: ExpositionCache, out: list[str], om: bool) -> None:
        if self.parent:
            metric = self.metric
            with metric._lock:  # as _multi_samples() copies them
                items = list(metric._metrics.items())
            if items != self.items:
                self._rebuild(items)
        if self.rows is not None:
            start = len(out)
            out.append(self.headers[om])
            created = moved = None
            if _client_metrics._use_created and self.kind is not Gauge:
                created = out if om else (moved := [])
            try:
                self.write_rows(self.rows, out, created)
            except _NotPlain:  # e.g. set_function or an exemplar since the rows were built
                del out[start:]
            else:
                if moved:
                    out.append(self.created_header)
                    out.extend(moved)
                return
        cache._write_collected(self.metric, out, om)

    def _rebuild(self, items: list) -> None:
        by_key = {}
        try:
            for key, child in items:
                row = self.by_key.get(key)
                if row is None or row[0] is not child:
                    row = self._row(key, child)
                by_key[key] = row
        except (_NotPlain, AttributeError, TypeError):
            self.items, self.rows = items, None
            return
        self.items, self.by_key, self.rows = items, by_key, list(by_key.values())

    def _row(self, key: tuple, child) -> tuple:
        """One child's row: the objects its values are read from and its series' prefixes."""
        if type(child) is not type(self.metric) or any(m in vars(child) for m in _SAMPLING):
            raise _NotPlain
        labels = dict(zip(self.labelnames, key, strict=False))  # as _multi_samples()
        name = self.name

        def prefix(suffix: str, **extra: str) -> str:
            return _prefix(name + suffix, {**labels, **extra})

        def value(v):
            if type(v) is not _MutexValue:  # multiprocess mode or something else: collect it
                raise _NotPlain
            v._value, v._exemplar  # noqa: B018 - the attributes the render reads
            return v

        if self.kind is Gauge:
            return child, value(child._value), prefix(""), vars(child)
        child._created  # noqa: B018 - counters, summaries and histograms have one
        created = prefix("_created")
        if self.kind is Counter:
            return child, value(child._value), prefix("_total"), created
        if self.kind is Summary:
            return child, value(child._count), value(child._sum), prefix("_count"), prefix("_sum"), created
        buckets = [value(b) for b in child._buckets]
        bounds = [floatToGoString(b) for b in child._upper_bounds]
        if len(buckets) != len(bounds):
            raise _NotPlain
        bucket_prefixes = [prefix("_bucket", le=b) for b in bounds]
        sum_prefix = prefix("_sum") if child._upper_bounds[0] >= 0 else None
        return child, buckets, bucket_prefixes, prefix("_count"), value(child._sum), sum_prefix, created


# The fast path's writers, one per kind: a row's samples in the order of the kind's
# _child_samples(), with the values computed as it computes them. ``created`` is the list that
# takes *_created lines (``out`` itself in OpenMetrics), or None while they are disabled.


def _write_counters(rows: list, out: list[str], created: list[str] | None) -> None:
    for child, value, prefix, created_prefix in rows:
        if value._exemplar is not None:
            raise _NotPlain
        out.append(f"{prefix}{_value(value._value)}\n")
        if created is not None:
            created.append(f"{created_prefix}{_value(child._created)}\n")


def _write_gauges(rows: list, out: list[str], created: list[str] | None) -> None:
    for _, value, prefix, attributes in rows:
        if "_child_samples" in attributes:  # set_function() since the row was built
            raise _NotPlain
        out.append(f"{prefix}{_value(value._value)}\n")


def _write_summaries(rows: list, out: list[str], created: list[str] | None) -> None:
    for child, count, sum_, count_prefix, sum_prefix, created_prefix in rows:
        out.append(f"{count_prefix}{_value(count._value)}\n{sum_prefix}{_value(sum_._value)}\n")
        if created is not None:
            created.append(f"{created_prefix}{_value(child._created)}\n")


def _write_histograms(rows: list, out: list[str], created: list[str] | None) -> None:
    for child, buckets, bucket_prefixes, count_prefix, sum_, sum_prefix, created_prefix in rows:
        acc = 0.0
        for prefix, bucket in zip(bucket_prefixes, buckets, strict=False):
            if bucket._exemplar is not None:
                raise _NotPlain
            acc += bucket._value  # a float, as in _child_samples(): _value() inlined, the hottest loop
            out.append(f"{prefix}{acc!r}\n" if -1e6 < acc < 1e6 else f"{prefix}{floatToGoString(acc)}\n")
        out.append(f"{count_prefix}{_value(acc)}\n")
        if sum_prefix is not None:
            out.append(f"{sum_prefix}{_value(sum_._value)}\n")
        if created is not None:
            created.append(f"{created_prefix}{_value(child._created)}\n")


_KINDS = {
    Counter: _write_counters,
    Gauge: _write_gauges,
    Summary: _write_summaries,
    Histogram: _write_histograms,
}


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


def _created_header(metric) -> str:
    """The text format's header of the gauge family it moves a family's *_created samples to."""
    name = metric.name + "_created"
    doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {doc}\n# TYPE {name} gauge\n"


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
