"""How the HTTP API writes numbers, times and query results as JSON (upstream web/api/v1/json_codec.go).

Clients compare these strings: Grafana parses sample values from strings, and tests of the workshop
check ours against a real Prometheus byte for byte where it is cheap to. So the rules that upstream
gets from Go's ``strconv.FormatFloat`` are reproduced here once:

* sample values: shortest round-trip digits, plain decimal for 1e-6 <= |v| < 1e21, exponent form
  (``1.5e-07``, ``1e+21``) outside that band, ``NaN``/``+Inf``/``-Inf`` literally;
* scalar results: the same digits, but never an exponent;
* vector/matrix timestamps: seconds with exactly three decimals when the millisecond part is not 0.

Results are rendered straight to JSON text rather than via dicts and ``json.dumps``: a range query
of a dozen series is hundreds of points, and building a Python object per point would dominate the
request's cost.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from stack.model import Labels
from stack.promql.value import Matrix, Scalar, String, Vector

# Go's FormatFloat(f, 'f'|'e', -1, 64) switches to exponent form outside [1e-6, 1e21)
# (upstream util/jsonutil/marshal.go MarshalFloat uses strconv.AppendFloat with 'f' in that band).
PLAIN_MIN = 1e-6
PLAIN_MAX = 1e21

# The zero time.Time renders as this; upstream uses it for "never" (e.g. lastScrape of a new target).
ZERO_TIME = "0001-01-01T00:00:00Z"


def format_value(v: float) -> str:
    """A sample value as the API writes it (spec §3.1)."""
    if v != v:
        return "NaN"
    if v == math.inf:
        return "+Inf"
    if v == -math.inf:
        return "-Inf"
    r = repr(v)
    if "e" not in r:
        return r[:-2] if r.endswith(".0") else r
    a = abs(v)
    if PLAIN_MIN <= a < PLAIN_MAX:
        return _plain(v)
    return r  # Python already writes a signed exponent of at least two digits: 1.5e-07, 1e+21


def format_scalar_value(v: float) -> str:
    """A scalar result's value: shortest digits, never an exponent (spec §3.2)."""
    if v != v or math.isinf(v):
        return format_value(v)
    r = repr(v)
    if "e" not in r:
        return r[:-2] if r.endswith(".0") else r
    return _plain(v)


def _plain(v: float) -> str:
    return np.format_float_positional(v, unique=True, trim="-")


def format_go_e(v: float) -> str:
    """Go's ``%e`` with shortest digits, used for alert values: 1 -> ``1e+00``, 1234 -> ``1.234e+03``."""
    if v != v or math.isinf(v):
        return format_value(v)
    if v == 0:
        return "-0e+00" if math.copysign(1, v) < 0 else "0e+00"
    d = Decimal(repr(v))
    sign, digits, _ = d.as_tuple()
    exp = d.adjusted()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    return f"{'-' if sign else ''}{mant}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def format_ts(ms: int) -> str:
    """A vector/matrix timestamp as JSON number text: ``1714557600`` or ``1714557600.500``."""
    s, frac = divmod(int(ms), 1000)
    if frac == 0:
        return str(s)
    if s < 0:  # -1500 ms is -1.500 s, not -2 + .500
        s, frac = s + 1, 1000 - frac
        return f"-{-s}.{frac:03d}" if s != 0 else f"-0.{frac:03d}"
    return f"{s}.{frac:03d}"


def format_scalar_ts(ms: int) -> str:
    """Scalar and string results use the shortest float rendering: ``4``, ``1714557600.5``."""
    return format_scalar_value(ms / 1000.0)


def rfc3339(t: float | datetime | None) -> str:
    """A time field (lastScrape, activeAt...): RFC 3339, nanoseconds with trailing zeros trimmed.

    ``t`` is epoch seconds or a datetime; None or 0 is the zero time upstream prints for "never".
    """
    if t is None or (not isinstance(t, datetime) and t == 0):
        return ZERO_TIME
    if isinstance(t, datetime):
        dt = t.astimezone(UTC)
        ns = dt.microsecond * 1000
    else:
        # A float of epoch seconds holds about microseconds; finer digits would be noise.
        secs, us = divmod(round(float(t) * 1e6), 1_000_000)
        ns = us * 1000
        dt = datetime.fromtimestamp(secs, UTC)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if ns:
        base += "." + f"{ns:09d}".rstrip("0")
    return base + "Z"


def dumps(obj) -> str:
    """Compact JSON, as upstream writes it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def labels_json(labels: Labels) -> str:
    return dumps(dict(labels.pairs))


# --- query results ----------------------------------------------------------------------------

def result_json(value) -> str:
    """``{"resultType": ..., "result": ...}`` for any PromQL value, as JSON text."""
    if isinstance(value, Vector):
        return '{"resultType":"vector","result":' + vector_json(value) + "}"
    if isinstance(value, Matrix):
        return '{"resultType":"matrix","result":' + matrix_json(value) + "}"
    if isinstance(value, Scalar):
        return ('{"resultType":"scalar","result":[' + format_scalar_ts(value.t) + ',"'
                + format_scalar_value(value.v) + '"]}')
    if isinstance(value, String):
        return ('{"resultType":"string","result":[' + format_scalar_ts(value.t) + ","
                + json.dumps(value.v, ensure_ascii=False) + "]}")
    raise TypeError(f"cannot encode {type(value).__name__} as a query result")


def vector_json(vec: Vector) -> str:
    fv, ft = format_value, format_ts
    parts = ['{"metric":' + labels_json(s.labels) + ',"value":[' + ft(s.t) + ',"' + fv(s.v) + '"]}'
             for s in vec.samples]
    return "[" + ",".join(parts) + "]"


def matrix_json(mat: Matrix) -> str:
    ts_text: dict[int, str] = {}  # range-query series share their steps: format each time once
    parts = []
    for s in mat.series:
        if len(s.t) == 0:
            continue  # upstream omits series without points
        ts = [ts_text.get(t) or ts_text.setdefault(t, format_ts(t)) for t in s.t.tolist()]
        # [t1,"v1"],[t2,"v2"] built by C-level joins: no Python code runs per point
        points = '"],['.join(map(',"'.join, zip(ts, values_text(s.v), strict=True)))
        parts.append('{"metric":' + labels_json(s.labels) + ',"values":[[' + points + '"]]}')
    return "[" + ",".join(parts) + "]"


def values_text(v: np.ndarray) -> list[str]:
    """``format_value`` for a whole array: ``repr`` in bulk, the careful path only where it differs.

    ``repr`` already gives the shortest digits. It differs from Go's rendering by a trailing ``.0``
    on whole numbers (dropped in one pass over the joined text, where ``.0`` can only precede a
    separator at the end of a number), and wherever it writes an exponent or a word: NaN, Inf,
    and exponent forms, which Python uses for |v| >= 1e16 or < 1e-4, partly inside Go's plain band.
    """
    if not len(v):
        return []
    joined = "\x00".join(map(repr, v.tolist())) + "\x00"
    out = joined.replace(".0\x00", "\x00").split("\x00")[:-1]
    if "e" in joined or "n" in joined:  # rare: fix those values one by one
        for i, text in enumerate(out):
            if "e" in text or "n" in text:
                out[i] = format_value(float(v[i]))
    return out
