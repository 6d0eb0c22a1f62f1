"""Runner for the upstream PromQL test scripts (``promql/promqltest/testdata/*.test``).

The script language (``load``/``clear``/``eval`` blocks) and the comparison rules are described
in ``shared/conformance/promql/FORMAT.md`` (beside the repository); this module implements that
description: each file runs against a fresh :class:`stack.tsdb.Head` and our
:class:`stack.promql.Engine`, and every eval is reported separately (``file:line``,
the query, expected vs got).

Evals flagged in ``evals.tsv`` as needing native histograms (B) are skipped, and so are the
experimental ones (X) unless ``include_experimental`` is set; nothing else is ever skipped.

Run as a script for a report: ``python -m tests.promql.corpus [--all] [--at-invariance] [file.test ...]``
(``--all`` also runs the experimental evals; ``--at-invariance`` adds upstream's ``@`` re-runs).
"""

from __future__ import annotations

import ast as pyast
import csv
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import re2

from stack.model import STALE_NAN, Labels, is_stale_nan
from stack.promql import ast
from stack.promql.engine import Engine
from stack.promql.parser import parse_expr
from stack.promql.query_errors import QueryError
from stack.promql.value import Matrix, Scalar, String, Vector
from stack.tsdb import Head


def _find_corpus() -> Path:
    """The corpus lives in the shared/ folder beside the repository (CI lays a copy there)."""
    repo = Path(__file__).resolve().parents[2]
    candidates = [repo.parent / "shared" / "conformance" / "promql", Path("/work/shared/conformance/promql")]
    return next((c for c in candidates if (c / "evals.tsv").exists()), candidates[0])


CORPUS_DIR = _find_corpus()
TESTDATA = CORPUS_DIR / "testdata"
EPSILON = 1e-6  # upstream promqltest defaultEpsilon
MIN_NORMAL = 2.2250738585072014e-308
MAX_FLOAT = 1.7976931348623157e308

_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_INSTANT_RE = re.compile(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_RANGE_RE = re.compile(
    r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$")
_LOAD_RE = re.compile(r"^load(?:_with_nhcb)?\s+(.+?)$")
_EXPECT_RE = re.compile(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
_RANGE_VECTOR_RE = re.compile(r"^expect range vector from (.+) to (.+) step (.+)$")
_NUM = r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[iI][nN][fF]|[nN][aA][nN])"
_EXPAND_RE = re.compile(rf"^({_NUM})(?:([-+])({_NUM[5:]}))?x(\d+)$")


class CorpusError(Exception):
    """The script itself is malformed (a runner or corpus problem, not an engine failure)."""


def parse_duration(s: str) -> int:
    s = s.strip()
    if s == "0":
        return 0
    m = _DURATION_RE.match(s)
    if not s or not m:
        raise CorpusError(f"bad duration {s!r}")
    return sum(int(g) * u for g, u in zip(m.groups(), _UNITS_MS, strict=True) if g)


def parse_float(s: str) -> float:
    low = s.lower().lstrip("+-")
    if low in ("inf", "nan", "infinity"):
        return float(s)
    if not re.fullmatch(_NUM, s):
        raise CorpusError(f"bad number {s!r}")
    return float(s)


# --- series notation ---------------------------------------------------------------------------

_IDENT_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _read_string(text: str, i: int) -> tuple[str, int]:
    q = text[i]
    if q == "`":
        j = text.index("`", i + 1)
        return text[i + 1:j], j + 1
    j = i + 1
    while text[j] != q:
        j += 2 if text[j] == "\\" else 1
    raw = text[i:j + 1]
    if q == "'":
        raw = '"' + raw[1:-1].replace('\\\'', "'").replace('"', '\\"') + '"'
    return _go_unquote(raw), j + 1


def _go_unquote(raw: str) -> str:
    value = pyast.literal_eval("b" + raw) if raw.isascii() else pyast.literal_eval(raw)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    return value


def parse_series(text: str) -> tuple[Labels, str]:
    """``name{l="v", ...}`` at the start of ``text``; returns the labels and the rest of the line."""
    text = text.strip()
    pairs: list[tuple[str, str]] = []
    i = 0
    m = _IDENT_RE.match(text)
    if m:
        pairs.append(("__name__", m.group()))
        i = m.end()
    if i < len(text) and text[i] == "{":
        i += 1
        while True:
            while i < len(text) and text[i] in " \t,":
                i += 1
            if text[i] == "}":
                i += 1
                break
            if text[i] in "\"'`":
                name, i = _read_string(text, i)
                while text[i] in " \t":
                    i += 1
                if text[i] in ",}":  # a quoted metric name
                    pairs.append(("__name__", name))
                    continue
            else:
                m = _LABEL_RE.match(text, i)
                if not m:
                    raise CorpusError(f"bad series {text!r}")
                name, i = m.group(), m.end()
            while text[i] in " \t":
                i += 1
            if text[i] != "=":
                raise CorpusError(f"bad series {text!r}")
            i += 1
            while text[i] in " \t":
                i += 1
            value, i = _read_string(text, i)
            pairs.append((name, value))
    elif not m:
        raise CorpusError(f"bad series {text!r}")
    # Empty values are kept, as the upstream harness does (FORMAT.md 3.1).
    return Labels.from_sorted(tuple(sorted(dict(pairs).items()))), text[i:]


HIST = object()  # a native-histogram position (not loaded by this float-only runner)


def _split_items(text: str) -> list[str]:
    items, i, n = [], 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace():
            if text.startswith("{{", j):
                j = text.index("}}", j) + 2
            else:
                j += 1
        items.append(text[i:j])
        i = j
    return items


def expand_values(text: str) -> list:
    """Value items to positions: a float, ``None`` (gap), STALE_NAN, or ``HIST``."""
    out: list = []
    for item in _split_items(text):
        if item.startswith("{{"):
            m = re.fullmatch(r".*\}\}x(\d+)", item)  # {{A}}xN and {{A}}+{{B}}xN: N+1 positions
            out.extend([HIST] * (int(m.group(1)) + 1 if m else 1))
            continue
        if item == "_":
            out.append(None)
        elif item.startswith("_x"):
            out.extend([None] * int(item[2:]))
        elif item == "stale":
            out.append(STALE_NAN)
        elif "x" in item and (m := _EXPAND_RE.match(item)):
            start, sign, delta, n = m.groups()
            v = parse_float(start)
            d = parse_float(delta) if delta else 0.0
            if sign == "-":
                d = -d
            for _ in range(int(n) + 1):
                out.append(v)
                v += d
        else:
            out.append(parse_float(item))
    return out


# --- script model ------------------------------------------------------------------------------

@dataclass
class Eval:
    line: int
    expr: str
    kind: str  # "instant" | "range"
    start: int
    end: int = 0
    step: int = 0
    fail: bool = False
    fail_msg: str | None = None
    fail_regex: str | None = None
    ordered: bool = False
    warn: list = field(default_factory=list)  # [(mode, text)]
    info: list = field(default_factory=list)
    no_warn: bool = False
    no_info: bool = False
    legacy_warn: bool = False
    legacy_info: bool = False
    scalar: float | None = None
    string: str | None = None
    range_vector: tuple[int, int, int] | None = None
    series: dict = field(default_factory=dict)  # Labels -> list of positions
    order: list = field(default_factory=list)


def parse_script(text: str, name: str = "") -> list:
    """The file's commands in order: ("load", interval, {labels: positions}), ("clear",), Eval."""
    lines = [ln.strip() for ln in text.split("\n")]
    lines = ["" if ln.startswith("#") else ln for ln in lines]
    cmds: list = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        if not ln:
            i += 1
            continue
        word = ln.split()[0].lower()
        j = i + 1
        while j < len(lines) and lines[j]:
            j += 1
        body = [(k + 1, lines[k]) for k in range(i + 1, j)]
        if word == "clear":  # no body: the next line is a command again
            cmds.append(("clear",))
            i += 1
            continue
        if word.startswith("load"):
            m = _LOAD_RE.match(ln)
            if not m:
                raise CorpusError(f"{name}:{i + 1}: bad load")
            data: dict = {}
            for _lineno, bl in body:
                labels, rest = parse_series(bl)
                if rest.startswith("@st"):
                    continue  # start timestamps: only in start_timestamps.test (experimental)
                data[labels] = expand_values(rest)
            cmds.append(("load", parse_duration(m.group(1)), data, i + 1))
        elif word.startswith("eval"):
            cmds.append(_parse_eval(ln, body, i + 1, name))
        else:
            raise CorpusError(f"{name}:{i + 1}: invalid command {ln!r}")
        i = j
    return cmds


def _parse_eval(header: str, body, lineno: int, name: str) -> Eval:
    m = _INSTANT_RE.match(header)
    if m:
        mod, at, expr = m.groups()
        ev = Eval(lineno, expr, "instant", parse_duration(at or ""))
    else:
        m = _RANGE_RE.match(header)
        if not m:
            raise CorpusError(f"{name}:{lineno}: bad eval header")
        mod, start, end, step, expr = m.groups()
        ev = Eval(lineno, expr, "range", parse_duration(start), parse_duration(end), parse_duration(step))
    ev.fail = mod == "fail"
    ev.ordered = mod == "ordered"
    ev.legacy_warn = mod == "warn"
    ev.legacy_info = mod == "info"
    for _ln, bl in body:
        words = bl.split()
        if words[0] == "expect":
            if m := _RANGE_VECTOR_RE.match(bl):
                ev.range_vector = tuple(parse_duration(x) for x in m.groups())  # type: ignore[assignment]
                continue
            if bl.startswith("expect string "):
                ev.string, _ = _read_string(bl[len("expect string "):].strip(), 0)
                continue
            m = _EXPECT_RE.match(bl)
            if not m:
                raise CorpusError(f"{name}:{_ln}: bad expect line {bl!r}")
            kind, mode, txt = m.groups()
            txt = txt.strip() if txt else None
            if kind == "ordered":
                ev.ordered = True
            elif kind == "fail":
                ev.fail = True
                if mode == "msg":
                    ev.fail_msg = txt
                elif mode == "regex":
                    ev.fail_regex = txt
            elif kind in ("warn", "info"):
                getattr(ev, kind).append((mode, txt))
            elif kind == "no_warn":
                ev.no_warn = True
            else:
                ev.no_info = True
            continue
        if words[0] == "expected_fail_message":
            ev.fail_msg = bl[len("expected_fail_message"):].strip()
            break
        if words[0] == "expected_fail_regexp":
            ev.fail_regex = bl[len("expected_fail_regexp"):].strip()
            break
        scalar = _bare_number(bl)
        if scalar is not None:
            ev.scalar = scalar
            break
        labels, rest = parse_series(bl)
        if labels not in ev.series:
            ev.order.append(labels)
        ev.series[labels] = expand_values(rest)
    return ev


def _bare_number(s: str) -> float | None:
    s = s.strip()
    try:
        return float(int(s, 0))
    except ValueError:
        pass
    try:
        if re.fullmatch(_NUM, s):
            return parse_float(s)
    except CorpusError:
        return None
    return None


# --- comparison (FORMAT.md section 7) ----------------------------------------------------------

def close(a: float, b: float) -> bool:
    """Upstream util/almost.Equal with the corpus' epsilon."""
    if is_stale_nan(a) or is_stale_nan(b):
        return is_stale_nan(a) and is_stale_nan(b)
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    s, d = abs(a) + abs(b), abs(a - b)
    if a == 0 or b == 0 or s < MIN_NORMAL:
        return d < EPSILON * MIN_NORMAL
    return d / min(s, MAX_FLOAT) < EPSILON


def _fmt(ls: Labels) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in ls.pairs if k != "__name__")
    return f"{ls.get('__name__')}{{{inner}}}"


def compare(ev: Eval, result, ordered_check: bool = True) -> str | None:
    """None if ``result`` meets the expectations, else a one-line description of the difference."""
    if ev.string is not None:
        if not isinstance(result, String):
            return f"expected string {ev.string!r}, got {type(result).__name__}"
        return None if result.v == ev.string else f"expected string {ev.string!r}, got {result.v!r}"
    if isinstance(result, String):
        expected_nothing = not ev.series and ev.scalar is None
        return None if expected_nothing and result.v == "" else "unexpected string result"
    if ev.scalar is not None:
        if not isinstance(result, Scalar):
            return f"expected scalar {ev.scalar}, got {type(result).__name__} {_brief(result)}"
        return None if close(result.v, ev.scalar) else f"expected scalar {ev.scalar}, got {result.v}"
    if isinstance(result, Scalar):
        return f"expected vector/matrix, got scalar {result.v}"
    if isinstance(result, Matrix):
        return _compare_matrix(ev, result)
    return _compare_vector(ev, result, ordered_check)


def _brief(result) -> str:
    if isinstance(result, Vector):
        return "{" + ", ".join(f"{_fmt(s.labels)}: {s.v}" for s in result.samples[:4]) + "}"
    if isinstance(result, Matrix):
        return "[" + ", ".join(f"{_fmt(s.labels)}: {list(s.v)[:5]}" for s in result.series[:4]) + "]"
    return repr(result)


def _compare_vector(ev: Eval, result: Vector, ordered_check: bool) -> str | None:
    if any(v is HIST for vals in ev.series.values() for v in vals):
        return "histogram expectations are not supported"
    got = {}
    for s in result.samples:
        if s.labels in got:
            return f"duplicate series {_fmt(s.labels)} in result"
        got[s.labels] = s.v
    if set(got) != set(ev.series):
        missing = [_fmt(x) for x in ev.series if x not in got]
        extra = [f"{_fmt(x)} {got[x]}" for x in got if x not in ev.series]
        return f"series mismatch: missing {missing}, unexpected {extra}"
    for ls, vals in ev.series.items():
        if len(vals) != 1:
            return f"{_fmt(ls)}: expected one value, got {len(vals)} in the expectation"
        if not close(got[ls], vals[0]):
            return f"{_fmt(ls)}: expected {vals[0]}, got {got[ls]}"
    if ev.ordered and ordered_check:
        got_order = [s.labels for s in result.samples]
        if got_order != ev.order:
            return f"order mismatch: got {[_fmt(x) for x in got_order]}"
    return None


def _compare_matrix(ev: Eval, result: Matrix) -> str | None:
    if ev.ordered:
        return "ordered expectation on a matrix result"
    labels = [s.labels for s in result.series]
    if labels != sorted(labels):
        return "matrix not sorted by labels"
    if ev.range_vector is not None:
        start, _end, step = ev.range_vector
    else:
        start, step = ev.start, ev.step
    got = {s.labels: s for s in result.series}
    if set(got) != set(ev.series):
        missing = [_fmt(x) for x in ev.series if x not in got]
        extra = [f"{_fmt(x)} {list(got[x].v)[:6]}" for x in got if x not in ev.series]
        return f"series mismatch: missing {missing}, unexpected {extra}"
    for ls, vals in ev.series.items():
        if any(v is HIST for v in vals):
            return "histogram expectations are not supported"
        exp = [(start + k * step, v) for k, v in enumerate(vals) if v is not None]
        s = got[ls]
        pts = list(zip(s.t.tolist(), s.v.tolist(), strict=True))
        if len(pts) != len(exp) or any(t1 != t2 or not close(v1, v2) for (t1, v1), (t2, v2) in
                                       zip(pts, exp, strict=True)):
            return f"{_fmt(ls)}: expected {exp[:8]}, got {pts[:8]}"
    return None


def _check_annotations(ev: Eval, warnings: list[str], infos: list[str]) -> str | None:
    for kind, expects, none, legacy, got in (("warn", ev.warn, ev.no_warn, ev.legacy_warn, warnings),
                                             ("info", ev.info, ev.no_info, ev.legacy_info, infos)):
        if none and got:
            return f"expected no {kind}, got {got}"
        if (legacy or expects) and not got:
            return f"expected {kind} annotation, got none"
        if expects:
            for mode, txt in expects:
                if not any(_text_matches(mode, txt, g) for g in got):
                    return f"no {kind} matches {txt!r}; got {got}"
            for g in got:
                if not any(_text_matches(mode, txt, g) for mode, txt in expects):
                    return f"unexpected {kind} {g!r}"
    return None


def _text_matches(mode, txt, got: str) -> bool:
    if mode is None:
        return True
    if mode == "msg":
        return got == txt
    return re2.search(txt, got) is not None


# --- running -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    file: str
    line: int
    expr: str
    status: str  # "pass" | "fail" | "skip"
    detail: str = ""


def load_flags() -> dict[tuple[str, int], dict]:
    with open(CORPUS_DIR / "evals.tsv", newline="") as f:
        return {(r["file"], int(r["line"])): r for r in csv.DictReader(f, delimiter="\t")}


def skip_reason(flags: dict | None, include_experimental: bool,
                include_histograms: bool = False) -> str | None:
    if flags is None:
        return None
    if flags["B_hist_involved"] == "1" and not include_histograms:
        return "native histograms (B)"
    if flags["experimental"] != "-" and not include_experimental:
        return f"experimental: {flags['experimental']} (X)"
    return None


def _new_engine(head: Head) -> Engine:
    # Corpus settings (FORMAT.md section 8): 5m lookback, 1m default subquery step.
    return Engine(head, lookback_delta_ms=300_000, timeout_s=100, default_eval_interval_ms=60_000)


def _load(head: Head, interval: int, data: dict) -> None:
    app = head.appender()
    for labels, positions in data.items():
        for k, v in enumerate(positions):
            if v is None or v is HIST:
                continue
            app.append(labels, k * interval, v)
    app.commit()


def run_eval(engine: Engine, ev: Eval, strict: bool = True, at_invariance: bool = False) -> str | None:
    """None when the eval passes, else what went wrong.

    ``strict`` adds upstream's instant-vs-range check; ``at_invariance`` also re-runs instant
    queries with every selector pinned by ``@`` at other evaluation times (FORMAT.md 6.1).
    """
    if ev.kind == "range":
        return _run_once(engine, ev, ev.expr, ev.start, strict)
    at = ev.range_vector[1] if ev.range_vector else ev.start
    problem = _run_once(engine, ev, ev.expr, at, strict)
    if problem or not at_invariance or ev.range_vector or _TIME_DEPENDENT.search(ev.expr):
        return problem
    t = ev.start
    for when in ([-1000, 0, 1000] if t == 0 else [-10 * t, 0, t // 5, t, 10 * t]):
        problem = _run_once(engine, ev, pin_at(parse_expr(ev.expr), t), when, strict)
        if problem:
            return f"with selectors pinned @ {t / 1000:g}s, evaluated at {when} ms: {problem}"
    return None


_TIME_DEPENDENT = re.compile(r"\b(time|timestamp|predict_linear|minute|hour|day_of_month|day_of_week|"
                             r"day_of_year|"
                             r"days_in_month|month|year|start|end|range|step)\s*\(")


def pin_at(node: ast.Expr, t: int, inside_pinned_subquery: bool = False) -> ast.Expr:
    """Give every selector and subquery without ``@`` the modifier ``@ t`` (in place)."""
    if isinstance(node, ast.VectorSelector):
        if not inside_pinned_subquery and node.timestamp is None and node.start_or_end is None:
            node.timestamp = t
    elif isinstance(node, ast.MatrixSelector):
        pin_at(node.vector_selector, t, inside_pinned_subquery)
    elif isinstance(node, ast.SubqueryExpr):
        if not inside_pinned_subquery and node.timestamp is None and node.start_or_end is None:
            node.timestamp = t
        pin_at(node.expr, t, True)
    else:
        for child in _children(node):
            pin_at(child, t, inside_pinned_subquery)
    return node


def _children(node: ast.Expr) -> list[ast.Expr]:
    if isinstance(node, ast.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, ast.AggregateExpr):
        return [node.expr] + ([node.param] if node.param is not None else [])
    if isinstance(node, ast.Call):
        return list(node.args)
    if isinstance(node, ast.ParenExpr | ast.UnaryExpr | ast.StepInvariantExpr):
        return [node.expr]
    return []


def _run_once(engine: Engine, ev: Eval, query, at: int, strict: bool) -> str | None:
    try:
        if ev.kind == "range":
            res = engine.exec_range(query, ev.start, ev.end, ev.step)
        else:
            res = engine.exec_instant(query, at)
    except QueryError as e:
        if not ev.fail:
            return f"unexpected error: {e}"
        if ev.fail_msg is not None and str(e) != ev.fail_msg:
            return f"expected error {ev.fail_msg!r}, got {str(e)!r}"
        if ev.fail_regex is not None and re2.search(ev.fail_regex, str(e)) is None:
            return f"expected error matching {ev.fail_regex!r}, got {str(e)!r}"
        return None
    if ev.fail:
        return f"expected an error, got {_brief(res.value)}"
    problem = _check_annotations(ev, res.warnings, res.infos) or compare(ev, res.value)
    if problem or not strict or ev.kind != "instant":
        return problem
    return _check_instant_as_range(engine, ev, query, at)


def _check_instant_as_range(engine: Engine, ev: Eval, query, t: int) -> str | None:
    """Strict mode (FORMAT.md 6.1): the same query as a range query around T must agree at T."""
    if ev.range_vector or ev.string is not None or any(
            f in ev.expr for f in ("start()", "end()", "range()", "step()")):
        return None
    try:
        res = engine.exec_range(query, t - 60_000, t + 60_000, 60_000).value
    except QueryError as e:
        return f"as a range query: unexpected error: {e}"
    labels = [s.labels for s in res.series]
    if labels != sorted(labels):
        return "as a range query: matrix not sorted"
    if ev.ordered:
        return None
    if ev.scalar is not None:
        pts = [float(s.v[s.t == t][0]) for s in res.series if (s.t == t).any()]
        if not pts:
            return "as a range query: no point at T"
        return None if close(pts[0], ev.scalar) else f"as a range query: expected {ev.scalar}, got {pts[0]}"
    from stack.promql.value import Sample

    vec = Vector([Sample(s.labels, t, float(s.v[s.t == t][0])) for s in res.series if (s.t == t).any()])
    problem = compare(ev, vec)
    return f"as a range query: {problem}" if problem else None


def run_file(path: Path, flags: dict | None = None, include_experimental: bool = False,
             strict: bool = True, at_invariance: bool = False,
             include_histograms: bool = False) -> list[Outcome]:
    flags = load_flags() if flags is None else flags
    name = path.name
    out: list[Outcome] = []
    head = Head()
    engine = _new_engine(head)
    for cmd in parse_script(path.read_text(), name):
        if isinstance(cmd, Eval):
            reason = skip_reason(flags.get((name, cmd.line)), include_experimental, include_histograms)
            if reason:
                out.append(Outcome(name, cmd.line, cmd.expr, "skip", reason))
                continue
            try:
                problem = run_eval(engine, cmd, strict, at_invariance)
            except Exception as e:  # noqa: BLE001 - an engine crash is a failed eval, reported as such
                problem = f"crash: {type(e).__name__}: {e}"
            out.append(Outcome(name, cmd.line, cmd.expr, "fail" if problem else "pass", problem or ""))
        elif cmd[0] == "clear":
            head = Head()
            engine = _new_engine(head)
        else:
            _load(head, cmd[1], cmd[2])
    return out


def summary(outcomes: list[Outcome]) -> str:
    n = {s: sum(o.status == s for o in outcomes) for s in ("pass", "fail", "skip")}
    return f"{n['pass']} passed, {n['fail']} failed, {n['skip']} skipped"


def failure_lines(outcomes: list[Outcome]) -> list[str]:
    return [f"{o.file}:{o.line}: {o.expr}\n    {o.detail}" for o in outcomes if o.status == "fail"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    include_experimental = "--all" in argv
    strict = "--lenient" not in argv
    at_invariance = "--at-invariance" in argv
    include_histograms = "--histograms" in argv  # diagnostics: which B-flagged evals pass anyway
    names = [a for a in argv if not a.startswith("--")]
    files = [TESTDATA / n for n in names] if names else sorted(TESTDATA.glob("*.test"))
    flags = load_flags()
    allout: list[Outcome] = []
    for f in files:
        outs = run_file(f, flags, include_experimental, strict, at_invariance, include_histograms)
        allout += outs
        for line in failure_lines(outs):
            print(line)
    print(summary(allout))
    if include_experimental:
        exp = [o for o in allout if (flags.get((o.file, o.line)) or {}).get("experimental", "-") != "-"]
        print(f"experimental evals: {summary(exp)}")
    if include_histograms:
        hist = [o for o in allout if (flags.get((o.file, o.line)) or {}).get("B_hist_involved") == "1"]
        print(f"native-histogram (B) evals: {summary(hist)}")
        for o in hist:
            if o.status == "pass":
                print(f"  B-flagged but passing: {o.file}:{o.line}: {o.expr}")
    core = [o for o in allout if (flags.get((o.file, o.line)) or {}).get("float_core") == "1"]
    print(f"float-core evals: {summary(core)}")
    return 0 if not any(o.status == "fail" for o in core) else 1


if __name__ == "__main__":
    sys.exit(main())

