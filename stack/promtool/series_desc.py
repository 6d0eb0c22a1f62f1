"""Series descriptions: ``http_requests_total{job="api"} 0+10x100 _ stale``.

This compact notation is how ``promtool test rules`` (``input_series``) and the upstream PromQL
test scripts describe data: a series in PromQL notation followed by value items, one per
evaluation interval. Items (upstream promql/parser, and shared/conformance/promql/FORMAT.md §3.2):

    v          one sample                 _        one gap (no sample)
    vxN        N+1 samples equal to v     _xN      N gaps
    v+dxN      v, v+d, ..., v+N*d         stale    a staleness marker
    v-dxN      v, v-d, ..., v-N*d
"""

from __future__ import annotations

import re

from stack.model import METRIC_NAME, STALE_NAN, Labels


class SeriesDescError(ValueError):
    """A series description that cannot be read; the message says which part."""


_NUMBER = r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[iI][nN][fF]|[nN][aA][nN])"
_ITEM_RE = re.compile(
    rf"^(?P<v>{_NUMBER}|_)(?:(?P<op>[-+])(?P<d>{_NUMBER}))?x(?P<n>\d+)$"
    rf"|^(?P<single>{_NUMBER}|_|stale)$"
)
_NAME_RE = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")
_QUOTED = r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)"""
_LABEL_RE = re.compile(r"""\s*([a-zA-Z_][a-zA-Z0-9_]*|"(?:[^"\\]|\\.)*")\s*=\s*""" + _QUOTED + r"\s*")


def expand_values(text: str) -> list[float | None]:
    """Expand the value items; ``None`` marks a gap, STALE_NAN a staleness marker."""
    out: list[float | None] = []
    for item in text.split():
        m = _ITEM_RE.match(item)
        if not m:
            raise SeriesDescError(f"bad value item {item!r}")
        if m.group("single") is not None:
            single = m.group("single")
            out.append(None if single == "_" else STALE_NAN if single == "stale" else float(single))
            continue
        n = int(m.group("n"))
        if m.group("v") == "_":
            if m.group("op"):
                raise SeriesDescError(f"bad value item {item!r}: a gap cannot be incremented")
            out.extend([None] * n)
            continue
        v = float(m.group("v"))
        d = float(m.group("d")) if m.group("op") else 0.0
        if m.group("op") == "-":
            d = -d
        for _ in range(n + 1):
            out.append(v)
            v += d  # repeated addition, as upstream does
    return out


def parse_series(text: str) -> Labels:
    """``name{a="b"}`` (or ``{__name__="x"}``) to a label set."""
    s = text.strip()
    pos, pairs = 0, {}
    m = _NAME_RE.match(s)
    if m and not s.startswith("{"):
        pairs[METRIC_NAME] = m.group(1)
        pos = m.end()
    rest = s[pos:].strip()
    if rest:
        if not (rest.startswith("{") and rest.endswith("}")):
            raise SeriesDescError(f"bad series {text!r}")
        body, i = rest[1:-1], 0
        while i < len(body):
            lm = _LABEL_RE.match(body, i)
            if not lm:
                raise SeriesDescError(f"bad label matcher in series {text!r} near {body[i:]!r}")
            name = _unquote(lm.group(1)) if lm.group(1).startswith('"') else lm.group(1)
            pairs[name] = _unquote(lm.group(2))
            i = lm.end()
            if i < len(body):
                if body[i] != ",":
                    raise SeriesDescError(f"expected ',' in series {text!r}")
                i += 1
    if not pairs:
        raise SeriesDescError(f"empty series {text!r}")
    return Labels(pairs)


def parse_series_line(line: str) -> tuple[Labels, list[float | None]]:
    """One data line: a series and its value items."""
    s = line.strip()
    depth, split = 0, None
    for i, c in enumerate(s):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                split = i + 1
                break
        elif c.isspace() and depth == 0:
            split = i
            break
    split = len(s) if split is None else split
    return parse_series(s[:split]), expand_values(s[split:])


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r"}


def _unquote(q: str) -> str:
    if q.startswith("`"):
        return q[1:-1]
    body, out, i = q[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)
