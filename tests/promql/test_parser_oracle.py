"""Differential test: our parser and the independent ``promql-parser`` (a Rust port of Prometheus'
parser, on PyPI) must agree on which generated queries are valid PromQL.

Queries come from a small grammar of PromQL (selectors, ranges, subqueries, modifiers, calls,
aggregations, operators with their modifiers, literals) with random type mistakes, and a share of
them is then broken at the text level (a character dropped, a token inserted, a cut). The test
compares accept/reject only; messages and trees are covered by the unit tests.

Constructs on which promql-parser does not follow Prometheus 3 are not generated; each is listed
in ``EXCLUDED`` with the reason, and the report lists them too.
"""

from __future__ import annotations

import random
import re

import promql_parser

from stack.promql import ParseError, parse_expr
from stack.promql.functions import AGGREGATIONS, FUNCTIONS

# Where promql-parser (0.12) differs from Prometheus 3.14. Queries showing these are skipped
# (``diverges``); the constructs themselves are covered by the unit tests against upstream's messages.
EXCLUDED = {
    # It accepts functions upstream keeps behind --enable-feature=promql-experimental-functions, in
    # a different set than Prometheus 3.14's: none are generated.
    "experimental functions and aggregations": "never generated",
    # It drops a unary plus, so it accepts +"a" and +x[5m], which Prometheus rejects ("unary
    # expression only allowed on expressions of type scalar or instant vector").
    "unary plus": "skipped",
    # It does not type-check Inf and NaN literals as scalars: it accepts log10(Inf).
    "Inf/NaN literals": "skipped",
    # It accepts a zero range written as a plain number, foo[0] (upstream: "duration must be
    # greater than 0"; it does reject foo[0s]).
    "zero range as a number": "skipped",
    # It rejects digit separators in numbers (1_000), which Prometheus' lexer and Go's ParseInt accept.
    "digit separators": "skipped",
    # It rejects a range or step written as a number with a leading dot (foo[.5]); upstream reads 0.5 s.
    "leading-dot range numbers": "skipped",
    # It does not type-check a negated number literal as a function argument: it accepts log2(-2.5).
    "negated literal arguments": "skipped",
    # It accepts ln(0), log2(0) and log10(0) although their argument is a scalar, not a vector.
    "logarithms of the literal 0": "skipped",
    # It rejects a zero offset written as a duration (offset 0s, offset 00ms: "duration must be greater
    # than 0"); Prometheus accepts any offset, and it accepts offset 0 itself.
    "zero offset durations": "skipped",
    # It rejects repeated signs on an offset (offset --1w); Prometheus folds them (+1w).
    "repeated offset signs": "skipped",
    # Native-histogram trim operators </ and >/ are newer than it: never generated.
    "trim operators": "never generated",
}
_INF_NAN = re.compile(r"(?i)\b(inf|nan)\b")
_ZERO_RANGE = re.compile(r"[\[:]\s*(0[xX])?[0._]+\s*[\]:]")
_LEADING_DOT_RANGE = re.compile(r"[\[:]\s*\.")
_NEGATED_ARGUMENT = re.compile(r"[(,]\s*-[\s-]*[\d.]")
_LOG_OF_ZERO = re.compile(r"\b(ln|log2|log10)\(\s*0\s*\)")
_REPEATED_OFFSET_SIGNS = re.compile(r"(?i)offset\s*[-+]\s*[-+]")
_ZERO_OFFSET = re.compile(r"(?i)offset\s*-?\s*0+(ms|[smhdwy])")
_DIGIT_SEPARATOR = re.compile(r"(?<![\w:])\.?\d[\w.]*_")
_BEFORE_UNARY = tuple("([{,+-*/%^=<>~@")
_KEYWORDS_BEFORE_UNARY = ("and", "or", "unless", "atan2", "bool", "offset")


def diverges(q: str) -> bool:
    """Whether ``q`` shows one of the EXCLUDED constructs (over-approximated: skipping is safe)."""
    patterns = (
        _INF_NAN,
        _ZERO_RANGE,
        _DIGIT_SEPARATOR,
        _LEADING_DOT_RANGE,
        _NEGATED_ARGUMENT,
        _LOG_OF_ZERO,
        _ZERO_OFFSET,
        _REPEATED_OFFSET_SIGNS,
    )
    if any(p.search(q) for p in patterns):
        return True
    for i, c in enumerate(q):
        if c == "+":
            before = q[:i].rstrip()
            if not before or before.endswith(_BEFORE_UNARY) or before.endswith(_KEYWORDS_BEFORE_UNARY):
                return True
    return False


METRICS = (
    "up",
    "http_requests_total",
    "node_cpu_seconds_total",
    "job:rate5m",
    "foo",
    "bar",
    "sum",
    "by",
    "offset",
    "rate",
    "without",
    '"my.metric"',
)
LABELS = ("job", "instance", "mode", "le", "a_b", '"a.b"', "on", "bool")
VALUES = ("api", "", "x.*", ".+", "9090", "\\n", "(a|b", "\\x41")
DURATIONS = ("5m", "1h", "30s", "1h30m", "2d", "1w", "500ms", "10", "1.5", "1y2w", "1m30s", "1e2", "0x10")
NUMBERS = ("1", "0", "2.5", "1e3", "0x1F", ".5", "-1", "5m", "010", "1e-3", "2.", "0x1f")
STRINGS = ('"a"', "'b'", "`c`", '"job"', '""', '"\\t\\u00e9"', "'\\''", '"\\101"')
MATCH_OPS = ("=", "!=", "=~", "!~")
VECTOR_MATCHING = (
    "",
    " on(job)",
    " ignoring(mode)",
    " on(job) group_left",
    " on() group_right(a_b)",
    " ignoring(job) group_left(mode)",
)
BIN_OPS = ("+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless")
BREAKERS = (
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "by",
    "offset",
    "@",
    "=",
    "~",
    ":",
    '"',
    "'",
    "5m",
    "#",
    "bool",
    "on(job)",
    "-",
    "sum",
    "1",
    "x",
)
STABLE_FUNCTIONS = sorted(name for name, f in FUNCTIONS.items() if not f.experimental)
STABLE_AGGREGATIONS = sorted(name for name, a in AGGREGATIONS.items() if not a.experimental)


class QueryGenerator:
    """A random walk over a small PromQL grammar. Hypothesis draws only the seed: generating
    through composite strategies costs ~20 ms a query on this machine, which 10,000 examples
    cannot afford; the seed keeps runs reproducible and the failing query is in the message."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)

    def pick(self, options):
        return self.r.choice(options)

    def chance(self, one_in: int) -> bool:
        return self.r.randrange(one_in) == 0

    def selector(self) -> str:
        name = self.pick(("",) + METRICS)
        if name.startswith('"'):  # a quoted (UTF-8) name goes inside the braces
            return "{" + ",".join([name] + [self.matcher() for _ in range(self.r.randrange(2))]) + "}"
        matchers = ",".join(self.matcher() for _ in range(self.r.randrange(4)))
        if matchers or not name or self.chance(3):
            return f"{name}{{{matchers}}}"
        return name

    def matcher(self) -> str:
        return f'{self.pick(LABELS)}{self.pick(MATCH_OPS)}"{self.pick(VALUES)}"'

    def modifiers(self) -> str:
        out = ""
        if self.chance(4):
            out += f" offset {self.pick(('-', ''))}{self.pick(DURATIONS)}"
        if self.chance(4):
            out += " @ " + self.pick(("100", "1609746000", "-5", "start()", "end()"))
        return out

    def leaf(self) -> str:
        k = self.r.randrange(4)
        if k == 0:
            return self.selector() + self.modifiers()
        if k == 1:
            return f"{self.selector()}[{self.pick(DURATIONS)}]{self.modifiers()}"
        return self.pick(NUMBERS) if k == 2 else self.pick(STRINGS)

    def expr(self, depth: int = 0) -> str:
        if depth >= 3 or self.chance(3):
            return self.leaf()
        k = self.r.randrange(8)
        sub = lambda: self.expr(depth + 1)  # noqa: E731
        args = lambda: ", ".join(sub() for _ in range(self.r.randrange(4)))  # noqa: E731
        grouping = lambda: "(" + ", ".join(self.pick(LABELS) for _ in range(self.r.randrange(3))) + ")"  # noqa: E731
        if k == 0:
            return f"{self.pick(STABLE_FUNCTIONS)}({args()})"
        if k == 1:
            agg, mod = self.pick(STABLE_AGGREGATIONS), f"{self.pick(('by', 'without'))} {grouping()}"
            return f"{agg} {mod} ({args()})" if self.chance(2) else f"{agg}({args()}) {mod}"
        if k == 2:
            return f"{self.pick(STABLE_AGGREGATIONS)}({args()})"
        if k in (3, 4):
            return (
                f"{sub()} {self.pick(BIN_OPS)}{self.pick(('', ' bool'))}{self.pick(VECTOR_MATCHING)} {sub()}"
            )
        if k == 5:
            return f"-{sub()}"
        if k == 6:
            return f"({sub()})"
        return f"{sub()}[{self.pick(DURATIONS)}:{self.pick(('', '1m', '10s'))}]{self.modifiers()}"

    def query(self) -> str:
        """Mostly grammatical queries (often ill-typed); a quarter of them broken at the text level."""
        q = self.expr()
        if self.chance(20):
            q = f"# a comment\n{q}"
        k = self.r.randrange(8)
        if k >= 2 or not q:
            return q
        at = self.r.randrange(len(q) + 1)
        if k == 0:
            return q[:at] + self.pick(BREAKERS) + q[at:]
        return q[:at] + q[at + 1 :] if self.chance(2) else q[:at]


def ours_accepts(q: str) -> bool:
    try:
        parse_expr(q)
    except ParseError:
        return False
    return True


def oracle_accepts(q: str) -> bool:
    try:
        promql_parser.parse(q)
    except Exception:  # noqa: BLE001 - the Rust parser raises ValueError (and a few others)
        return False
    return True


# The generator draws everything from its own seeded RNG, so Hypothesis would only hand it seeds (and
# cannot shrink an opaque seed); a plain loop over 10,000 fixed seeds checks the same queries in a
# tenth of the time and can never flake. Widen the search locally by changing SEEDS.
SEEDS = range(10_000)


def test_parser_agrees_with_promql_parser_on_validity():
    checked, disagreements = 0, []
    for seed in SEEDS:
        q = QueryGenerator(seed).query()
        if diverges(q):
            continue
        checked += 1
        if ours_accepts(q) != oracle_accepts(q):
            disagreements.append(q)
    assert not disagreements, f"{len(disagreements)} disagreements, e.g. {disagreements[:5]}"
    assert checked >= 9_000  # the exclusions must not hollow the test out
