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

import functools
import json
import math
import operator
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


# Dashboards ask for the same series on every refresh; label sets are immutable, so their JSON is
# kept (keyed by the pairs, whose hash the label set caches).
LABELS_JSON_CACHE_SIZE = 8192


@functools.lru_cache(maxsize=LABELS_JSON_CACHE_SIZE)
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
    """A range result. All its times and values are formatted in two bulk passes (see
    :func:`values_text`), then each series' points are cut from those lists by C-level joins."""
    series = [s for s in mat.series if len(s.t)]  # upstream omits series without points
    if not series:
        return "[]"
    ts = times_text(np.concatenate([s.t for s in series]))
    vs = values_text(np.concatenate([s.v for s in series]))
    parts = []
    a = 0
    for s in series:
        b = a + len(s.t)
        # [t1,"v1"],[t2,"v2"]: no Python code runs per point
        points = '"],['.join(map(',"'.join, zip(ts[a:b], vs[a:b], strict=True)))
        parts.append('{"metric":' + labels_json(s.labels) + ',"values":[[' + points + '"]]}')
        a = b
    return "[" + ",".join(parts) + "]"


def times_text(t: np.ndarray) -> list[str]:
    """``format_ts`` for a whole array. A range result's series share one step grid, so only its
    distinct times are formatted."""
    if not len(t):
        return []
    uniq, inverse = np.unique(t, return_inverse=True)
    texts = [format_ts(x) for x in uniq.tolist()]
    return _spread(texts, inverse)


def values_text(v: np.ndarray) -> list[str]:
    """``format_value`` for a whole array, formatting each distinct value (by bits) once.

    Query results repeat values a lot (flat gauges, ``up``, zero rates, steady counters), and
    formatting a float is the expensive part of the JSON: integral values are written as ints,
    the others with ``repr`` (see :func:`_distinct_values_text`).
    """
    if not len(v):
        return []
    v = np.ascontiguousarray(v, dtype=np.float64)
    bits, inverse = np.unique(v.view(np.int64), return_inverse=True)  # -0.0 and 0.0 stay apart
    if len(bits) == len(v):
        return _distinct_values_text(v)
    return _spread(_distinct_values_text(bits.view(np.float64)), inverse)


def _spread(texts: list[str], inverse: np.ndarray) -> list[str]:
    """``[texts[i] for i in inverse]`` at C speed."""
    if len(texts) == 1:
        return texts * len(inverse)
    return list(operator.itemgetter(*inverse.tolist())(texts)) if len(inverse) > 1 else [texts[inverse[0]]]


# Whole numbers below this are written exactly by ``str(int(v))`` (and ``repr`` would not yet use
# an exponent, which it does from 1e16 on).
_INT_TEXT_MAX = 1e15


def _distinct_values_text(v: np.ndarray) -> list[str]:
    """``repr`` in bulk, the careful path only where it differs from Go's rendering.

    ``repr`` already gives the shortest digits. It differs from Go's rendering by a trailing ``.0``
    on whole numbers (those are written from ints instead, or the ``.0`` is dropped in one pass
    over the joined text, where ``.0`` can only precede a separator at the end of a number), and
    wherever it writes an exponent or a word: NaN, Inf, and exponent forms, which Python uses for
    |v| >= 1e16 or < 1e-4, partly inside Go's plain band.
    """
    with np.errstate(invalid="ignore"):
        whole = (np.abs(v) < _INT_TEXT_MAX) & (v == np.trunc(v)) & ~((v == 0) & np.signbit(v))
    if whole.all():
        return list(map(str, v.astype(np.int64).tolist()))
    joined = "\x00".join(map(repr, v.tolist())) + "\x00"
    out = joined.replace(".0\x00", "\x00").split("\x00")[:-1]
    if "e" in joined or "n" in joined:  # rare: fix those values one by one
        for i, text in enumerate(out):
            if "e" in text or "n" in text:
                out[i] = format_value(float(v[i]))
    return out
