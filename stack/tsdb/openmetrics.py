"""A fast OpenMetrics text reader for backfilling: a whole file into numpy arrays.

Backfill files are large (millions of samples) and repetitive (the same few thousand series again
and again), so instead of building an object per sample as ``prometheus_client``'s parser does,
the series text of each line (``name{labels}``, everything before the last two fields) is looked up
in a dict; only a line whose series is new (or that is not a plain sample) goes through the full
regular expression and label parsing. The value and timestamp strings are converted to floats in
bulk by numpy. The same code validates: a mistake is
reported as ``line N: what is wrong``.

What is checked (OpenMetrics 1.0 text format, as upstream's parser): the input ends with ``# EOF``
and has nothing after it; no empty lines; ``# HELP``/``# TYPE``/``# UNIT`` are the only comments and
``TYPE`` names a known type; metric and label names are valid, label values quoted with ``\\``
escapes, no label twice; every sample has a value and — backfill needs them — a timestamp
(seconds, converted to integer milliseconds by truncation, as upstream); exemplars
(`` # {...} v``) are accepted and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from stack.model import Labels

EOF_LINE = "# EOF"
METRIC_TYPES = {"counter", "gauge", "histogram", "gaugehistogram", "stateset", "info", "summary", "unknown"}

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL_VALUE = r'"(?:[^"\\\n]|\\.)*"'
_SAMPLE = re.compile(
    rf"({_NAME})(\{{(?:[^\"}}]|{_LABEL_VALUE})*\}})? (\S+)(?: (\S+))?(?: # \{{.*)?"
)
_LABEL_PAIR = re.compile(rf"([a-zA-Z_][a-zA-Z0-9_]*)=({_LABEL_VALUE})(,|\Z)")
_METADATA = re.compile(rf"# (HELP|TYPE|UNIT) ({_NAME})(?: (.*))?")
_UNESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "\\": "\\", '"': '"'}


class ParseError(ValueError):
    """The input is not valid OpenMetrics for backfilling; ``line`` is 1-based."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass
class Samples:
    """Parsed samples: ``series[sid[i]]`` at ``t[i]`` (ms) has value ``v[i]``, read from line ``line[i]``."""

    series: list[Labels]
    sid: np.ndarray
    t: np.ndarray
    v: np.ndarray
    line: np.ndarray


def parse(text: str, progress=None) -> Samples:
    """Parse a whole OpenMetrics document; raises :class:`ParseError` naming the line."""
    return _Reader(progress).read([text])


def parse_file(path, progress=None, block_size: int = 8 << 20) -> Samples:
    """Like :func:`parse`, reading the file in blocks so memory holds arrays, not the whole text."""
    with open(path, encoding="utf-8") as f:
        return _Reader(progress).read(iter(lambda: f.read(block_size), ""))


class _Reader:
    """Turns text blocks into lines and lines into arrays, one block at a time."""

    def __init__(self, progress=None):
        self.progress = progress
        self.series: list[Labels] = []
        self.sid_of: dict[str, int] = {}  # series text as written -> id
        self.sid_of_labels: dict[Labels, int] = {}
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.lines_done = 0

    def read(self, blocks) -> Samples:
        carry = ""
        eof_at = 0
        for block in blocks:
            lines = (carry + block).split("\n")
            carry = lines.pop()  # an unfinished line waits for the next block
            if eof_at and lines:
                raise ParseError(eof_at + 1, "unexpected content after '# EOF'")
            if not eof_at:
                before = self.lines_done
                eof_at = self._lines(lines)
                if eof_at and eof_at - before < len(lines):
                    raise ParseError(eof_at + 1, "unexpected content after '# EOF'")
        if carry:  # the last line had no newline
            if eof_at:
                raise ParseError(eof_at + 1, "unexpected content after '# EOF'")
            eof_at = self._lines([carry])
        if not eof_at:
            raise ParseError(self.lines_done + 1, "unexpected end of input: the file must end with '# EOF'")
        if not self.parts:
            empty = np.zeros(0, dtype=np.int64)
            return Samples(self.series, empty, empty, np.zeros(0), empty)
        sid, t, v, line = (np.concatenate(cols) for cols in zip(*self.parts, strict=True))
        return Samples(self.series, sid, t, v, line)

    def _lines(self, lines: list[str]) -> int:
        """Parse ``lines``; returns the line number of ``# EOF`` if met (the rest is left unread)."""
        series, sid_of, sid_of_labels = self.series, self.sid_of, self.sid_of_labels
        sids, values, stamps, linenos = [], [], [], []
        match = _SAMPLE.fullmatch
        eof_at = 0
        for i, line in enumerate(lines, self.lines_done + 1):
            # Fast path: a series seen before is the text up to the last two space-separated fields;
            # value and timestamp strings are validated below by the bulk float conversion.
            parts = line.rsplit(" ", 2)
            sid = sid_of.get(parts[0])
            if sid is not None and len(parts) == 3:
                value, ts = parts[1], parts[2]
            else:
                m = match(line)
                if m is None:
                    if line == EOF_LINE:
                        eof_at = i
                        break
                    _check_non_sample(i, line)
                    continue
                key, value, ts = m.group(1) + (m.group(2) or ""), m.group(3), m.group(4)
                sid = sid_of.get(key)
                if sid is None:  # a new spelling; the same label set may have been written differently
                    labels = _parse_labels(i, m.group(1), m.group(2))
                    sid = sid_of[key] = sid_of_labels.setdefault(labels, len(series))
                    if sid == len(series):
                        series.append(labels)
                if ts is None:
                    raise ParseError(i, f"expected a timestamp for series {series[sid]}, got none")
            sids.append(sid)
            values.append(value)
            stamps.append(ts)
            linenos.append(i)
        done = eof_at or self.lines_done + len(lines)
        if self.progress is not None:
            self.progress(done - self.lines_done)
        self.lines_done = done
        if sids:
            line_arr = np.array(linenos, dtype=np.int64)
            v = _floats(values, line_arr, "value")
            seconds = _floats(stamps, line_arr, "timestamp")
            bad = ~np.isfinite(seconds)
            if bad.any():
                raise ParseError(int(line_arr[bad.argmax()]), "timestamp must be a finite number of seconds")
            # Truncated toward zero like upstream's int64(ts * 1000) (checked against promtool 2.42).
            t = (seconds * 1000.0).astype(np.int64)
            self.parts.append((np.array(sids, dtype=np.int64), t, v, line_arr))
        return eof_at


def check_order(s: Samples) -> Samples:
    """Each series' samples must be in increasing time order, as the TSDB appender requires.

    As upstream's appender does, a repeated sample (same timestamp, same value bits) is dropped
    silently; an older timestamp ("out of order sample") or the same one with another value
    ("duplicate sample for timestamp") is an error naming the line. Returns the samples to keep.
    """
    if len(s.t) < 2:
        return s
    order = np.argsort(s.sid, kind="stable")
    sid, t, bits = s.sid[order], s.t[order], s.v[order].view(np.uint64)
    same_series = sid[1:] == sid[:-1]
    dt = np.diff(t)
    repeat = same_series & (dt == 0) & (bits[1:] == bits[:-1])
    bad = np.flatnonzero(same_series & (dt <= 0) & ~repeat)
    if len(bad):
        j = bad[0] + 1
        reason = "duplicate sample for timestamp" if dt[bad[0]] == 0 else "out of order sample"
        raise ParseError(int(s.line[order][j]), f"{reason}: {s.series[int(sid[j])]} at {int(t[j]) / 1000:g}")
    if not repeat.any():
        return s
    keep = np.ones(len(s.t), dtype=bool)
    keep[order[1:][repeat]] = False
    return Samples(s.series, s.sid[keep], s.t[keep], s.v[keep], s.line[keep])


def _floats(strings: list[str], lines: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.array(strings, dtype=np.float64)
    except ValueError:
        for s, line in zip(strings, lines.tolist(), strict=True):
            try:
                float(s)
            except ValueError:
                raise ParseError(line, f"invalid {what} {s!r}") from None
        raise


def _parse_labels(line: int, name: str, block: str | None) -> Labels:
    pairs = [("__name__", name)]
    if block:
        inner, pos = block[1:-1], 0
        seen = set()
        while pos < len(inner):
            m = _LABEL_PAIR.match(inner, pos)
            if m is None:
                raise ParseError(line, f"invalid label syntax at {inner[pos:pos + 20]!r}")
            label = m.group(1)
            if label in seen:
                raise ParseError(line, f"duplicate label name {label!r}")
            seen.add(label)
            pairs.append((label, _unescape(m.group(2)[1:-1])))
            pos = m.end()
            if m.group(3) == "," and pos == len(inner):
                break  # a trailing comma is allowed
    return Labels(pairs)


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _UNESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), value)


def _check_non_sample(line_no: int, line: str) -> None:
    """Accept metadata lines; anything else that did not match a sample is an error."""
    if line == "":
        raise ParseError(line_no, "unexpected empty line")
    if line.startswith("#"):
        m = _METADATA.fullmatch(line)
        if m is None:
            raise ParseError(line_no, "expected '# HELP', '# TYPE', '# UNIT' or '# EOF' after '#'")
        if m.group(1) == "TYPE" and m.group(3) not in METRIC_TYPES:
            raise ParseError(line_no, f"invalid metric type {m.group(3)!r}")
        return
    name = re.match(_NAME, line)
    if name is None:
        raise ParseError(line_no, f"invalid metric name at {line[:30]!r}")
    if "{" in line and "}" not in line:
        raise ParseError(line_no, "label set not closed with '}'")
    raise ParseError(line_no, f"expected 'name{{labels}} value timestamp', got {line[:60]!r}")
