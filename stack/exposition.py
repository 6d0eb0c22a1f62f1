"""Metric families in the Prometheus text exposition format (0.0.4): a strict parser and a renderer.

Two components receive exposition text from people rather than from client libraries: the
Pushgateway (push bodies) and the node exporter's textfile collector (``*.prom`` files). Both must
refuse malformed input with the line that is wrong, the way upstream's ``expfmt`` parser does,
instead of guessing. prometheus_client's parser is deliberately lenient (it is meant for
scraping friendly targets), so the parser here is strict; the OpenMetrics flavour is delegated to
prometheus_client's OpenMetrics parser, which already is.

The data model follows upstream's protobuf one (``io.prometheus.client.MetricFamily``): a family has
a name, a type, a help string and metrics; a histogram or summary metric carries its buckets or
quantiles, count and sum together. That is the shape the Pushgateway stores, validates and shows
in its JSON API, and rendering it back gives one ``# HELP``/``# TYPE`` block per family.

Rendering follows client_golang's text writer: families sorted by name, floats in Go's shortest
``%g`` form (``1.7145612e+09``), ``le``/``quantile`` appended after the other labels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

# The content type of the text format (upstream expfmt.FmtText); Prometheus 3 refuses a scrape
# without a Content-Type it knows, so every /metrics handler must send it.
CONTENT_TYPE_TEXT = "text/plain; version=0.0.4; charset=utf-8"

TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# What Go's strconv.ParseFloat accepts in practice for sample values (no hex floats, no '_').
_FLOAT_RE = re.compile(
    r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])$"
)


class ParseError(ValueError):
    """Exposition text that cannot be parsed; the message names the line, as upstream's does."""


@dataclass
class Metric:
    """One metric of a family: a single series, or one histogram/summary with all its parts."""

    labels: dict[str, str]
    value: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)  # upper bound -> cumulative count
    quantiles: dict[float, float] = field(default_factory=dict)
    count: float = 0.0
    sum: float = 0.0
    timestamp_ms: int | None = None

    def sort_key(self) -> tuple:
        # client_golang sorts metrics by number of labels, then by values in label-name order.
        return (len(self.labels), [self.labels[k] for k in sorted(self.labels)])


@dataclass
class MetricFamily:
    name: str
    type: str = "untyped"
    help: str = ""
    metrics: list[Metric] = field(default_factory=list)

    def series_names(self) -> list[str]:
        """The sample names this family occupies in the text format."""
        if self.type == "histogram":
            return [self.name + "_bucket", self.name + "_sum", self.name + "_count"]
        if self.type == "summary":
            return [self.name, self.name + "_sum", self.name + "_count"]
        return [self.name]


# --- parsing -------------------------------------------------------------------------------------


def parse_text(text: str) -> list[MetricFamily]:
    """Parse the text format strictly; families that only have HELP/TYPE lines are dropped."""
    return _TextParser().parse(text)


def parse_openmetrics(text: str) -> list[MetricFamily]:
    """Parse OpenMetrics text with prometheus_client's (strict) parser into our model."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    try:
        client_families = list(text_string_to_metric_families(text))
    except ValueError as e:
        raise ParseError(f"OpenMetrics parsing error: {e}") from None
    return [f for f in (from_client_metric(m) for m in client_families) if f.metrics]


class _TextParser:
    """Line-oriented parser for the text format, with upstream's rules and error messages."""

    def __init__(self) -> None:
        self.families: dict[str, MetricFamily] = {}
        self.typed: set[str] = set()
        self.helped: set[str] = set()
        self.sampled: set[str] = set()
        self.line = 0

    def error(self, msg: str) -> ParseError:
        return ParseError(f"text format parsing error in line {self.line}: {msg}")

    def parse(self, text: str) -> list[MetricFamily]:
        lines = text.split("\n")
        for i, raw in enumerate(lines):
            self.line = i + 1
            last = i == len(lines) - 1
            if last:
                if raw.strip(" \t"):  # content without the terminating newline
                    raise self.error("unexpected end of input stream")
                break
            line = raw.strip(" \t")
            if not line:
                continue
            if line.startswith("#"):
                self.comment(line[1:].lstrip(" \t"))
            else:
                self.sample(line)
        return [f for f in self.families.values() if f.metrics]

    def family(self, name: str) -> MetricFamily:
        if name not in self.families:
            self.families[name] = MetricFamily(name)
        return self.families[name]

    def comment(self, rest: str) -> None:
        keyword, _, rest = rest.partition(" ")
        if keyword not in ("HELP", "TYPE"):
            return  # an ordinary comment
        name, _, arg = rest.lstrip(" \t").partition(" ")
        name = name.strip("\t")
        if not METRIC_NAME_RE.match(name):
            raise self.error("invalid metric name in comment")
        arg = arg.strip(" \t")
        if keyword == "HELP":
            if name in self.helped:
                raise self.error(f"second HELP line for metric name {_q(name)}")
            self.helped.add(name)
            self.family(name).help = _unescape_help(arg)
            return
        if name in self.typed or name in self.sampled:
            raise self.error(f"second TYPE line for metric name {_q(name)}, or TYPE reported after samples")
        if arg.lower() not in TYPES:
            raise self.error(f"unknown metric type {_q(arg)}")
        self.typed.add(name)
        self.family(name).type = arg.lower()

    def sample(self, line: str) -> None:
        m = re.match(r"[^{\s]*", line)
        name = m.group(0)
        if not METRIC_NAME_RE.match(name):
            raise self.error(f"invalid metric name {_q(name)}")
        rest = line[m.end():].lstrip(" \t")
        labels: dict[str, str] = {}
        if rest.startswith("{"):
            labels, rest = self.labels(name, rest)
        fields = rest.split()
        if not fields:
            raise self.error(f"expected value after metric {_q(name)}")
        value = self.float_(fields[0], "as value")
        ts = None
        if len(fields) > 1:
            try:
                ts = int(fields[1])
            except ValueError:
                raise self.error(f"expected integer as timestamp, got {_q(fields[1])}") from None
        if len(fields) > 2:
            raise self.error(f"spurious string after timestamp: {_q(fields[2])}")
        self.add(name, labels, value, ts)

    def labels(self, name: str, rest: str) -> tuple[dict[str, str], str]:
        labels: dict[str, str] = {}
        i = 1
        while True:
            while i < len(rest) and rest[i] in " \t":
                i += 1
            if i < len(rest) and rest[i] == "}":
                return labels, rest[i + 1:]
            m = re.compile(r"[^=\s,}]*").match(rest, i)
            lname = m.group(0)
            if not LABEL_NAME_RE.match(lname):
                raise self.error(f"invalid label name for metric {_q(name)}")
            if lname == "__name__":
                raise self.error('label name "__name__" is reserved')
            if lname in labels:
                raise self.error(f"duplicate label names for metric {_q(name)}")
            i = m.end()
            while i < len(rest) and rest[i] in " \t":
                i += 1
            if rest[i:i + 1] != "=":
                raise self.error(f"expected '=' after label name, found {_q(rest[i:i + 1])}")
            i += 1
            while i < len(rest) and rest[i] in " \t":
                i += 1
            if rest[i:i + 1] != '"':
                raise self.error(f"expected '\"' at start of label value, found {_q(rest[i:i + 1])}")
            value, i = self.label_value(rest, i + 1)
            labels[lname] = value
            while i < len(rest) and rest[i] in " \t":
                i += 1
            if rest[i:i + 1] == ",":
                i += 1
            elif rest[i:i + 1] != "}":
                raise self.error(f"unexpected end of label value {_q(rest[i:i + 1])}")

    def label_value(self, s: str, i: int) -> tuple[str, int]:
        out = []
        while i < len(s):
            c = s[i]
            if c == '"':
                return "".join(out), i + 1
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise self.error(f"invalid escape sequence '\\{nxt}'")
                out.append("\n" if nxt == "n" else nxt)
                i += 2
                continue
            out.append(c)
            i += 1
        raise self.error("unexpected end of input stream in label value")

    def float_(self, s: str, what: str) -> float:
        if not _FLOAT_RE.match(s):
            raise self.error(f"expected float {what}, got {_q(s)}")
        return float(s)

    def add(self, name: str, labels: dict[str, str], value: float, ts: int | None) -> None:
        fam, part = self.family_for_sample(name)
        self.sampled.add(fam.name)
        if fam.type in ("histogram", "summary"):
            self.add_complex(fam, part, labels, value, ts)
        else:
            fam.metrics.append(Metric(labels=labels, value=value, timestamp_ms=ts))

    def family_for_sample(self, name: str) -> tuple[MetricFamily, str]:
        """Which family a sample belongs to: ``x_sum`` is part of a histogram/summary ``x``."""
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and base in self.families:
                fam = self.families[base]
                if fam.type == "histogram" or (fam.type == "summary" and suffix != "_bucket"):
                    return fam, suffix
        return self.family(name), ""

    def add_complex(self, fam: MetricFamily, part: str, labels: dict, value: float, ts: int | None) -> None:
        special = "le" if fam.type == "histogram" else "quantile"
        bound = None
        if part in ("", "_bucket"):
            if part == "" and fam.type == "histogram":
                raise self.error(f"histogram sample {_q(fam.name)} needs a _bucket, _sum or _count suffix")
            if special not in labels:
                raise self.error(f"{fam.type} sample {_q(fam.name + part)} has no {_q(special)} label")
            bound = self.float_(labels.pop(special), f"for {_q(special)} label")
        metric = next((m for m in fam.metrics if m.labels == labels), None)
        if metric is None:
            metric = Metric(labels=labels, timestamp_ms=ts)
            fam.metrics.append(metric)
        if bound is not None:
            (metric.buckets if special == "le" else metric.quantiles)[bound] = value
        elif part == "_sum":
            metric.sum = value
        else:
            metric.count = value
        if ts is not None:
            metric.timestamp_ms = ts


def _q(s: str) -> str:
    """Quote like Go's %q, so messages read like upstream's."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unescape_help(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), s)


# --- prometheus_client interop ----------------------------------------------------------------


def from_client_metric(m) -> MetricFamily:
    """Convert a prometheus_client ``Metric`` (what custom collectors yield) into our model.

    prometheus_client names a counter family without ``_total``; the text format names it after
    its samples, so the family takes the ``_total`` name whenever the samples carry it.
    ``_created`` samples are OpenMetrics-only and dropped, as the text format has no place for them.
    """
    typ = {"unknown": "untyped", "info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram"}.get(
        m.type, m.type
    )
    name = m.name
    if m.type == "info":
        name += "_info"
    elif m.type == "counter" and any(s.name == m.name + "_total" for s in m.samples):
        name += "_total"
    fam = MetricFamily(name, typ, m.documentation)
    grouped: dict[tuple, Metric] = {}
    for s in m.samples:
        if s.name != name and s.name.endswith(("_created", "_gsum", "_gcount")):
            continue
        ts = None if s.timestamp is None else int(round(float(s.timestamp) * 1000))
        labels = dict(s.labels)
        if typ not in ("histogram", "summary"):
            fam.metrics.append(Metric(labels=labels, value=s.value, timestamp_ms=ts))
            continue
        special = "le" if typ == "histogram" else "quantile"
        bound = labels.pop(special, None)
        key = tuple(sorted(labels.items()))
        metric = grouped.get(key)
        if metric is None:
            metric = grouped[key] = Metric(labels=labels, timestamp_ms=ts)
            fam.metrics.append(metric)
        if s.name.endswith("_sum"):
            metric.sum = s.value
        elif s.name.endswith("_count"):
            metric.count = s.value
        elif bound is not None:
            (metric.buckets if special == "le" else metric.quantiles)[float(bound)] = s.value
    return fam


def collect_families(collector) -> list[MetricFamily]:
    """All families of a prometheus_client registry or collector, in our model."""
    return [from_client_metric(m) for m in collector.collect()]


# --- rendering ---------------------------------------------------------------------------------


def format_float(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'g', -1, 64)``: shortest digits, exponent form below 1e-4
    and from 1e+06 on (``%g`` with shortest precision switches at exponent 6)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    sign, digits, exp = Decimal(repr(v)).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    exp += len("".join(map(str, digits))) - len(ds)
    point = len(ds) + exp  # value = 0.<ds> * 10**point
    x = point - 1
    s = "-" if sign else ""
    if x < -4 or x >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{s}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{s}0.{'0' * -point}{ds}"
    if point >= len(ds):
        return s + ds + "0" * (point - len(ds))
    return f"{s}{ds[:point]}.{ds[point:]}"


def _text_float(v: float) -> str:
    # client_golang's text writer prints zero as "0" whatever its sign.
    return "0" if v == 0 else format_float(v)


def _escape_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_labels(labels: dict[str, str], extra: tuple[str, str] | None = None) -> str:
    pairs = [f'{k}="{_escape_value(labels[k])}"' for k in sorted(labels)]
    if extra is not None:
        pairs.append(f'{extra[0]}="{extra[1]}"')
    return "{" + ",".join(pairs) + "}" if pairs else ""


def render_family(fam: MetricFamily) -> str:
    out = []
    if fam.help:
        out.append(f"# HELP {fam.name} " + fam.help.replace("\\", "\\\\").replace("\n", "\\n"))
    out.append(f"# TYPE {fam.name} {fam.type}")
    for m in sorted(fam.metrics, key=Metric.sort_key):
        labels = m.labels
        ts = "" if m.timestamp_ms is None else f" {m.timestamp_ms}"
        if fam.type == "histogram":
            for bound, count in sorted(m.buckets.items()):
                out.append(f"{fam.name}_bucket{format_labels(m.labels, ('le', format_float(bound)))} "
                           f"{_text_float(count)}{ts}")
            if math.inf not in m.buckets:  # the +Inf bucket is implied by the count
                inf = format_labels(labels, ("le", "+Inf"))
                out.append(f"{fam.name}_bucket{inf} {_text_float(m.count)}{ts}")
        elif fam.type == "summary":
            for q, v in sorted(m.quantiles.items()):
                quantile = format_labels(labels, ("quantile", format_float(q)))
                out.append(f"{fam.name}{quantile} {_text_float(v)}{ts}")
        else:
            out.append(f"{fam.name}{format_labels(m.labels)} {_text_float(m.value)}{ts}")
            continue
        out.append(f"{fam.name}_sum{format_labels(m.labels)} {_text_float(m.sum)}{ts}")
        out.append(f"{fam.name}_count{format_labels(m.labels)} {_text_float(m.count)}{ts}")
    return "\n".join(out) + "\n"


def render_text(families: Iterable[MetricFamily]) -> str:
    """The text exposition of ``families`` (already merged: one family per name), sorted by name."""
    return "".join(render_family(f) for f in sorted(families, key=lambda f: f.name) if f.metrics)
