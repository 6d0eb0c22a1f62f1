"""A fast parser for the Prometheus text format (0.0.4) and OpenMetrics text (1.0.0).

Why not prometheus_client's parsers: they build a family object per metric and re-parse every
label set on every scrape, which costs tens of microseconds per sample; a 10,000-sample target
scraped every 5 s would then keep a core busy. Upstream's answer is the *scrape cache*: the text
of a series (``http_requests_total{code="200",path="/api"}``) is the cache key, and a series seen
before needs no label parsing at all. This module does the same: :meth:`Parser.samples` splits a
line at its last space and looks the left part up in the cache; only a line that does not fit
(a comment, a timestamp, an exemplar, a series not seen before) goes through the careful
character-level parser (:func:`parse_sample_line`, :func:`parse_series`).

Why the fast split is safe: the left part is only trusted if it is already a cache key, and cache
keys are complete, validated series texts. A series text is a prefix-free token (its end is fixed
by its own quotes and braces), so if the left part is a valid series, the line *is* that series
followed by one value.

Errors name the line (``text format parsing error in line 3: ...``), as Go's old ``expfmt``
parser did, so a participant can find the bad line in their exporter's output.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

OPENMETRICS = "application/openmetrics-text"
TEXT = "text/plain"

_TEXT_TYPES = frozenset(("counter", "gauge", "histogram", "summary", "untyped"))
_OM_TYPES = frozenset(
    ("counter", "gauge", "histogram", "gaugehistogram", "stateset", "info", "summary", "unknown")
)
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_LABEL_START = _NAME_START - {":"}
_LABEL_CHARS = _NAME_CHARS - {":"}
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class ParseError(ValueError):
    """The exposition is malformed; the message names the line."""

    def __init__(self, message: str, line: int):
        self.line = line
        super().__init__(f"text format parsing error in line {line}: {message}")


class Parser:
    """Parses one target's expositions, scrape after scrape, remembering the series it has seen.

    ``known`` maps validated series texts to whatever the caller wants to remember about them (the
    scrape loop keeps the final label set there). The parser only reads it; callers add entries.
    ``metadata`` holds ``{family: {"type":…, "help":…, "unit":…}}`` from the last parse.
    """

    def __init__(self, known: dict | None = None):
        self.known: dict = {} if known is None else known
        self.metadata: dict[str, dict[str, str]] = {}
        self._comments: tuple[dict, dict] = ({}, {})  # (text, OpenMetrics): line -> _parse_comment's

    def samples(self, body: str, openmetrics: bool = False) -> Iterator[tuple[str, Any, float, int | None]]:
        """Yield ``(series_text, known entry or None, value, timestamp_ms or None)`` per sample line.

        Raises :class:`ParseError` at the first malformed line (samples before it were yielded).
        """
        known = self.known
        self.metadata = {}
        eof_line = 0
        lineno = 0
        for line in body.split("\n"):
            lineno += 1
            # Fast path: "<series> <value>" whose series text is already known. One C-level split
            # and one dict lookup; anything else (comments, timestamps, exemplars, new series) falls
            # through to the careful path below.
            key, _, val = line.rpartition(" ")
            entry = known.get(key)
            if entry is not None and not eof_line:
                try:
                    yield key, entry, float(val), None
                    continue
                except ValueError:
                    pass  # let the careful path say what is wrong
            if eof_line:
                if line:
                    raise ParseError("unexpected content after # EOF", lineno)
                continue
            if not line:
                continue
            if line[0] == "#":
                if openmetrics and line == "# EOF":
                    eof_line = lineno
                else:
                    self._comment(line, lineno, openmetrics)
                continue
            key, value, ts = parse_sample_line(line, lineno, openmetrics)
            yield key, known.get(key), value, ts
        if openmetrics and not eof_line:
            raise ParseError("data does not end with # EOF", lineno)

    def _comment(self, line: str, lineno: int, openmetrics: bool) -> None:
        # A target repeats its HELP and TYPE lines every scrape: each distinct line is checked once.
        seen = self._comments[openmetrics]
        parsed = seen.get(line)
        if parsed is None:
            parsed = _parse_comment(line, lineno, openmetrics)
            if len(seen) >= _MAX_REMEMBERED_COMMENTS:
                seen.clear()
            seen[line] = parsed
        if parsed is _OTHER_COMMENT:
            return
        key, name, text = parsed
        meta = self.metadata.setdefault(name, {})
        if key == "type" and "type" in meta:
            raise ParseError(f"second TYPE line for metric name {name!r}", lineno)
        meta[key] = text


_OTHER_COMMENT = ()  # a comment that is no HELP, TYPE or UNIT line: ignored
_MAX_REMEMBERED_COMMENTS = 10_000  # distinct comment lines a parser remembers per format


def _parse_comment(line: str, lineno: int, openmetrics: bool) -> tuple[str, str, str] | tuple[()]:
    """Check one comment line: ``("help"|"type"|"unit", metric name, text)`` of a metadata line."""
    parts = line.split(None, 3)
    if len(parts) < 3 or parts[1] not in ("HELP", "TYPE", "UNIT"):
        if openmetrics and len(parts) >= 2 and parts[1] in ("HELP", "TYPE", "UNIT"):
            raise ParseError(f"invalid metadata line {line!r}", lineno)
        return _OTHER_COMMENT
    kind, name = parts[1], parts[2]
    if not _valid_metric_name(name):
        raise ParseError(f"invalid metric name in comment: {name!r}", lineno)
    text = parts[3] if len(parts) > 3 else ""
    if kind == "TYPE" and text not in (_OM_TYPES if openmetrics else _TEXT_TYPES):
        raise ParseError(f"unknown metric type {text!r}", lineno)
    if kind == "HELP":
        text = _unescape(text, openmetrics)
    return kind.lower(), name, text


def parse_sample_line(line: str, lineno: int, openmetrics: bool = False) -> tuple[str, float, int | None]:
    """The careful path: validate one sample line; return its canonical series text, value, timestamp."""
    global _last_scan
    end, name, pairs = _scan_series(line, lineno)
    key = line[:end]
    # The caller usually asks for this series' labels next (a new series): keep them at hand.
    _last_scan = (key, name, pairs)
    rest = line[end:]
    exemplar = ""
    if openmetrics:
        rest, _, exemplar = rest.partition(" # ")
        if exemplar and not exemplar.startswith("{"):
            raise ParseError(f"invalid exemplar {exemplar!r}", lineno)
    parts = rest.split()
    if not parts:
        raise ParseError(f"expected a value after metric {key!r}", lineno)
    if len(parts) > 2 or (len(parts) == 2 and "#" in parts[1]):
        raise ParseError(f"unexpected text {' '.join(parts[1:])!r} after the value of {key!r}", lineno)
    if not rest[:1].isspace():
        raise ParseError(f"expected whitespace between {key!r} and its value", lineno)
    value = _float(parts[0], key, lineno)
    ts = None
    if len(parts) == 2:
        try:
            ts = _om_timestamp(parts[1]) if openmetrics else int(parts[1])
        except ValueError:
            raise ParseError(f"invalid timestamp {parts[1]!r} for {key!r}", lineno) from None
    return key.rstrip(), value, ts


def parse_series(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Metric name and label pairs (unescaped, in exposition order) of a validated series text."""
    last = _last_scan
    if last[0] == text:
        return last[1], last[2]
    _, name, pairs = _scan_series(text, 0)
    return name, pairs


_last_scan: tuple = ("", "", ())
_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# One label pair; the value alternation is unambiguous, so matching is linear in the line length.
_PAIR_RE = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(,?)[ \t]*')


def _scan_series(line: str, lineno: int) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    """Scan ``name{l="v",...}`` at the start of ``line``; return (end index, name, pairs).

    A regular-expression pass handles well-formed series; anything it does not accept is scanned
    again character by character, which finds the exact problem for the error message.
    """
    m = _NAME_RE.match(line)
    if m is not None:
        i = m.end()
        brace = i
        while brace < len(line) and line[brace] in " \t":
            brace += 1
        if brace >= len(line) or line[brace] != "{":
            return i, m.group(), ()
        pos = brace + 1
        pairs: list[tuple[str, str]] = []
        while True:
            if line.startswith("}", pos):
                names = [k for k, _ in pairs]
                if len(set(names)) == len(names):
                    return pos + 1, m.group(), tuple(pairs)
                break
            p = _PAIR_RE.match(line, pos)
            if p is None:
                break
            value = p.group(2)
            if "\\" in value:
                value = _unescape_label(value)
            pairs.append((p.group(1), value))
            pos = p.end()
            if not p.group(3) and not line.startswith("}", pos):
                break
    return _scan_series_slowly(line, lineno)


def _unescape_label(raw: str) -> str:
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            out.append(_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _scan_series_slowly(line: str, lineno: int) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    n = len(line)
    i = 0
    while i < n and line[i] in _NAME_CHARS:
        i += 1
    name = line[:i]
    if not name or name[0] not in _NAME_START:
        raise ParseError(f"invalid metric name in line {line[:50]!r}", lineno)
    j = i
    while j < n and line[j] in " \t":
        j += 1
    if j >= n or line[j] != "{":
        return i, name, ()
    i = j + 1
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i < n and line[i] == "}":
            return i + 1, name, tuple(pairs)
        start = i
        while i < n and line[i] in _LABEL_CHARS:
            i += 1
        label = line[start:i]
        if not label or label[0] not in _LABEL_START:
            raise ParseError(f"invalid label name for metric {name!r}", lineno)
        while i < n and line[i] in " \t":
            i += 1
        if i >= n or line[i] != "=":
            raise ParseError(f"expected '=' after label name {label!r} of metric {name!r}", lineno)
        i += 1
        while i < n and line[i] in " \t":
            i += 1
        if i >= n or line[i] != '"':
            raise ParseError(
                f"expected '\"' to start the value of label {label!r} of metric {name!r}", lineno
            )
        i += 1
        chunks: list[str] = []
        while True:
            q = line.find('"', i)
            b = line.find("\\", i, q if q >= 0 else n)
            if q < 0:
                raise ParseError(f"unterminated value of label {label!r} of metric {name!r}", lineno)
            if b < 0:
                chunks.append(line[i:q])
                i = q + 1
                break
            chunks.append(line[i:b])
            if b + 1 >= n:
                raise ParseError(f"unterminated value of label {label!r} of metric {name!r}", lineno)
            c = line[b + 1]
            chunks.append(_ESCAPES.get(c, "\\" + c))
            i = b + 2
        if label in seen:
            raise ParseError(f"duplicate label name {label!r} for metric {name!r}", lineno)
        seen.add(label)
        pairs.append((label, "".join(chunks)))
        while i < n and line[i] in " \t":
            i += 1
        if i < n and line[i] == ",":
            i += 1
        elif i < n and line[i] == "}":
            continue
        else:
            raise ParseError(
                f"expected ',' or '}}' after the value of label {label!r} of metric {name!r}", lineno
            )


def _float(text: str, key: str, lineno: int) -> float:
    # Python's float() also accepts "1_000", which Go's ParseFloat does not.
    if "_" in text:
        raise ParseError(f"invalid value {text!r} for {key!r}", lineno)
    try:
        return float(text)
    except ValueError:
        raise ParseError(f"invalid value {text!r} for {key!r}", lineno) from None


def _om_timestamp(text: str) -> int:
    """OpenMetrics timestamps are float seconds; stored as integer milliseconds."""
    t = float(text)
    if math.isnan(t) or math.isinf(t):
        raise ValueError(text)
    return int(round(t * 1000))


def _unescape(text: str, openmetrics: bool) -> str:
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and (text[i + 1] in "\\n" or (openmetrics and text[i + 1] == '"')):
            out.append(_ESCAPES[text[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _valid_metric_name(name: str) -> bool:
    return bool(name) and name[0] in _NAME_START and all(c in _NAME_CHARS for c in name)


def media_type(content_type: str) -> str:
    """``text/plain; version=0.0.4; charset=utf-8`` -> ``text/plain`` (lower-cased)."""
    return content_type.split(";", 1)[0].strip().lower()
