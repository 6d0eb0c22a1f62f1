"""The functions alert templates may call, and Go's way of printing values.

Two tables are merged here, as upstream merges them: Go's text/template builtins (``and``, ``eq``,
``printf``, ``len``, ...) and Prometheus' template functions (``humanize``, ``query``, ``first``,
``label``, ``title``, ...; upstream ``template/template.go``). Their exact outputs are in
``shared/spec/rules.md`` §7.1; Go's number formatting is mirrored in :func:`go_float` and
:func:`go_sprintf` because ``{{ $value }}`` and ``printf "%.2f"`` must print what Prometheus prints.

``query``, ``now``, ``externalURL`` and ``pathPrefix`` depend on the rule manager, so they are
passed in per execution (see :func:`runtime_functions`).
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import ipaddress
import math
import re
import urllib.parse
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from stack.config.duration import parse_duration


class TemplateError(ValueError):
    """A template failed to parse or execute; the message follows Go's ``template: name:line: ...``."""


class QuerySample:
    """One sample returned by the ``query`` template function: ``.Labels`` and ``.Value``."""

    __slots__ = ("labels", "value")

    def __init__(self, labels: dict[str, str], value: float):
        self.labels, self.value = labels, value

    def template_field(self, name: str) -> Any:
        if name == "Labels":
            return self.labels
        if name == "Value":
            return self.value
        raise TemplateError(f"can't evaluate field {name} in type *template.sample")


# --- Go printing -----------------------------------------------------------------------------


def _digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of |f| and the decimal point position (Go's digs.d, digs.dp)."""
    sign, digits, exp = Decimal(repr(abs(f))).as_tuple()
    d = "".join(map(str, digits)).rstrip("0") or "0"
    dp = len(digits) + exp
    if d == "0":
        dp = 1
    return d, dp


def go_float(f: float, fmt: str = "g") -> str:
    """Go's ``strconv.FormatFloat(f, 'g' or 'e', -1, 64)``: %v of a float64."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    d, dp = _digits(f)
    exp = dp - 1
    if fmt == "e" or exp < -4 or exp >= 6:  # shortest %g switches to %e outside [-4, 6)
        mant = d[0] + ("." + d[1:] if len(d) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{d}"
    if dp >= len(d):
        return f"{sign}{d}{'0' * (dp - len(d))}"
    return f"{sign}{d[:dp]}.{d[dp:]}"


def go_print(value: Any) -> str:
    """``fmt.Sprint`` of a template value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "<no value>"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_print(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_print(v) for v in value) + "]"
    if isinstance(value, QuerySample):
        return "{" + go_print(value.labels) + " " + go_print(value.value) + "}"
    if isinstance(value, _dt.datetime):
        return _go_time(value)
    return str(value)


_VERB_RE = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def go_sprintf(fmt: str, *args: Any) -> str:
    """Go's ``fmt.Sprintf`` for the verbs templates use: v s d f F e E g G q x X t %."""
    out, pos, argi = [], 0, 0
    for m in _VERB_RE.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        out.append(_format_one(arg, flags, width, prec, verb))
    out.append(fmt[pos:])
    if argi < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{type(a).__name__}={go_print(a)}" for a in args[argi:]) + ")")
    return "".join(out)


def _format_one(arg: Any, flags: str, width: str | None, prec: str | None, verb: str) -> str:
    spec = flags + (width or "") + (f".{prec}" if prec is not None else "")
    if verb in "feEgG" or (verb == "F"):
        x = _to_float(arg)
        if math.isnan(x) or math.isinf(x):
            body = "NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf")
            return body.rjust(int(width)) if width else body
        if verb in "gG" and prec is None:
            body = go_float(x) if verb == "g" else go_float(x).upper()
            return body.rjust(int(width or 0))
        if verb in "eE" and prec is None:
            body = go_float(x, "e")
            return (body if verb == "e" else body.upper()).rjust(int(width or 0))
        return ("%" + spec + ("f" if verb == "F" else verb)) % x
    if verb == "d":
        if isinstance(arg, float) and not arg.is_integer():
            return f"%!d(float64={go_float(arg)})"
        return ("%" + spec + "d") % (arg if isinstance(arg, int) else int(_to_float(arg)))
    if verb in "xX" and isinstance(arg, int):
        return ("%" + spec + verb) % arg
    if verb == "q":
        return '"' + go_print(arg).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if verb == "t":
        return "true" if arg else "false"
    # %v and %s: Sprint, then width / precision as for strings
    if verb == "v" and isinstance(arg, float) and prec:
        body = ("%." + prec + "g") % arg
    else:
        body = go_print(arg)
    if verb == "s" and prec is not None:
        body = body[: int(prec)]
    if width:
        body = body.ljust(int(width)) if "-" in flags else body.rjust(int(width))
    return body


# --- conversion and truthiness ----------------------------------------------------------------


def _to_float(v: Any) -> float:
    """Numeric input as upstream's convertToFloat: numbers, or strings parsed as floats."""
    if isinstance(v, bool):
        raise TemplateError(f"can't convert {v} to float")
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise TemplateError(f'strconv.ParseFloat: parsing "{v}": invalid syntax') from None
    if isinstance(v, _dt.timedelta):
        return v.total_seconds()
    raise TemplateError(f"can't convert {go_print(v)} to float")


def is_true(v: Any) -> bool:
    """Go's truth: false, 0, nil and empty strings/lists/maps are false."""
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return v != 0
    if isinstance(v, str | list | tuple | dict):
        return len(v) > 0
    return True


# --- Prometheus' humanize family (spec rules.md §7.1) -----------------------------------------


def _g4(x: float) -> str:
    return go_sprintf("%.4g", x)


def humanize(v: Any) -> str:
    x = _to_float(v)
    if x == 0 or math.isnan(x) or math.isinf(x):
        return _g4(x)
    if abs(x) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(x) < 1000:
                break
            prefix, x = p, x / 1000
        return _g4(x) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(x) >= 1:
            break
        prefix, x = p, x * 1000
    return _g4(x) + prefix


def humanize1024(v: Any) -> str:
    x = _to_float(v)
    if abs(x) <= 1 or math.isnan(x) or math.isinf(x):
        return _g4(x)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(x) < 1024:
            break
        prefix, x = p, x / 1024
    return _g4(x) + prefix


def humanize_duration(v: Any) -> str:
    x = _to_float(v)
    if math.isnan(x) or math.isinf(x):
        return _g4(x)
    if x == 0:
        return "0s"
    if abs(x) >= 1:
        sign = "-" if x < 0 else ""
        x = abs(x)
        total = int(x)
        days, rem = divmod(total, 86400)
        hours, rem = divmod(rem, 3600)
        minutes, seconds = divmod(rem, 60)
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(x)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(x) >= 1:
            break
        prefix, x = p, x * 1000
    return f"{_g4(x)}{prefix}s"


def humanize_percentage(v: Any) -> str:
    return _g4(_to_float(v) * 100) + "%"


def _go_time(t: _dt.datetime) -> str:
    base = t.strftime("%Y-%m-%d %H:%M:%S")
    frac = f"{t.microsecond:06d}".rstrip("0")
    return f"{base}{'.' + frac if frac else ''} +0000 UTC"


def humanize_timestamp(v: Any) -> str:
    x = _to_float(v)
    if math.isnan(x) or math.isinf(x):
        return _g4(x)
    if abs(x) > 9.2e9:  # beyond int64 nanoseconds, as upstream
        raise TemplateError(f"{go_float(x)} cannot be represented as a nanoseconds timestamp")
    # Millisecond precision avoids float noise (1435065584.128 must not print .127999).
    ms = round(x * 1000)
    return _go_time(_dt.datetime(1970, 1, 1) + _dt.timedelta(milliseconds=ms))


def to_time(v: Any) -> _dt.datetime:
    return _dt.datetime(1970, 1, 1) + _dt.timedelta(milliseconds=round(_to_float(v) * 1000))


# --- strings, URLs, samples --------------------------------------------------------------------


def title(s: str) -> str:
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), s)


def strip_port(hostport: str) -> str:
    if hostport.startswith("["):
        end = hostport.find("]")
        return hostport[1:end] if end > 0 else hostport
    host, sep, port = hostport.rpartition(":")
    if not sep or ":" in host:
        return hostport
    return host


def strip_domain(hostport: str) -> str:
    host, port = hostport, ""
    if ":" in hostport and not hostport.startswith("["):
        h, _, p = hostport.rpartition(":")
        if ":" not in h:
            host, port = h, ":" + p
    try:
        ipaddress.ip_address(host.strip("[]"))
        return hostport
    except ValueError:
        return host.split(".", 1)[0] + port


def re_replace_all(pattern: str, repl: str, text: str) -> str:
    from stack.model import compile_unanchored

    # Go's Regexp.ReplaceAllString expands $1, ${1} and $name.
    py_repl = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: "\\g<" + (m.group(1) or m.group(2)) + ">", repl)
    return compile_unanchored(pattern).sub(py_repl, text)


def match(pattern: str, text: str) -> bool:
    from stack.model import compile_unanchored

    return compile_unanchored(pattern).search(text) is not None


def first(samples: list) -> Any:
    if not samples:
        raise TemplateError("first() called on vector with no elements")
    return samples[0]


def label(name: str, sample: QuerySample) -> str:
    return sample.labels.get(name, "")


def value(sample: QuerySample) -> float:
    return sample.value


def strvalue(sample: QuerySample) -> str:
    return sample.labels.get("__value__", "")


def sort_by_label(name: str, samples: list) -> list:
    return sorted(samples, key=lambda s: s.labels.get(name, ""))


def args(*values: Any) -> dict[str, Any]:
    return {f"arg{i}": v for i, v in enumerate(values)}


def _index(container: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(container, dict):
            container = container.get(k, "")
        elif isinstance(container, list | tuple | str):
            container = container[int(k)]
        else:
            raise TemplateError(f"can't index item of type {type(container).__name__}")
    return container


def _and(*xs: Any) -> Any:
    for x in xs:
        if not is_true(x):
            return x
    return xs[-1]


def _or(*xs: Any) -> Any:
    for x in xs:
        if is_true(x):
            return x
    return xs[-1]


def _eq(a: Any, *bs: Any) -> bool:
    return any(a == b for b in bs)


def _cmp(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, str) != isinstance(b, str):
            raise TemplateError("incompatible types for comparison")
        return op(a, b)

    return compare


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # Go text/template builtins
    "and": _and,
    "or": _or,
    "not": lambda x: not is_true(x),
    "len": lambda x: len(x),
    "index": _index,
    "print": lambda *a: "".join(go_print(x) for x in a),
    "println": lambda *a: " ".join(go_print(x) for x in a) + "\n",
    "printf": go_sprintf,
    "eq": _eq,
    "ne": lambda a, b: a != b,
    "lt": _cmp(lambda a, b: a < b),
    "le": _cmp(lambda a, b: a <= b),
    "gt": _cmp(lambda a, b: a > b),
    "ge": _cmp(lambda a, b: a >= b),
    "urlquery": lambda *a: urllib.parse.quote_plus("".join(go_print(x) for x in a)),
    "html": lambda *a: _html.escape("".join(go_print(x) for x in a)),
    "js": lambda *a: (
        "".join(go_print(x) for x in a).replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')
    ),
    # Prometheus template functions
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
    "humanizeTimestamp": humanize_timestamp,
    "toTime": to_time,
    "toDuration": lambda v: _dt.timedelta(seconds=_to_float(v)),
    "parseDuration": lambda s: parse_duration(s),
    "first": first,
    "label": label,
    "value": value,
    "strvalue": strvalue,
    "sortByLabel": sort_by_label,
    "toUpper": lambda s: s.upper(),
    "toLower": lambda s: s.lower(),
    "title": title,
    "match": match,
    "reReplaceAll": re_replace_all,
    "args": args,
    "safeHtml": lambda s: s,
    "graphLink": lambda e: "/graph?g0.expr=" + urllib.parse.quote_plus(e) + "&g0.tab=0",
    "tableLink": lambda e: "/graph?g0.expr=" + urllib.parse.quote_plus(e) + "&g0.tab=1",
    "stripPort": strip_port,
    "stripDomain": strip_domain,
    "urlQueryEscape": lambda s: urllib.parse.quote_plus(s),
}


def runtime_functions(
    query: Callable[[str], list[QuerySample]], now: float, external_url: str = ""
) -> dict[str, Callable[..., Any]]:
    """The functions that need the rule manager: ``query`` at the evaluation time, ``now``..."""
    return {
        "query": query,
        "now": lambda: now,
        "externalURL": lambda: external_url,
        "pathPrefix": lambda: urllib.parse.urlparse(external_url).path,
    }
