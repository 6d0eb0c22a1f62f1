"""The PromQL lexer: query text to tokens, with the same token boundaries as Prometheus.

PromQL's lexical rules depend on where you are: inside ``{...}`` keywords are plain label names;
inside ``[...]`` only durations, numbers and a few operators may appear; a ``#`` starts a comment
except inside a string. Upstream's lexer is a small state machine for exactly that reason, and
this one keeps the same states (statements, inside braces, inside brackets) so that the same
input splits into the same tokens and a mistake gets the message Prometheus prints for it
(``bad number or duration syntax: "5mm"``, ``unexpected end of input inside braces``, ...).

The whole query is lexed up front (queries are short). A lexical error becomes a final ``ERROR``
token; the parser reports it when it reaches that token, so an earlier syntax error still wins.

String literals are also decoded here (``unquote``): Go escape rules, where ``\\xNN`` and octal
escapes are raw bytes. Bytes that do not form valid UTF-8 are kept as lone surrogates
("surrogateescape") so that, as upstream, ``"a\\xc5z"`` parses and is rejected later as an
invalid label name rather than silently changed.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from stack.promql.errors import go_quote, go_quote_rune
from stack.promql.functions import AGGREGATIONS, BINARY_OPERATORS

__all__ = ["Token", "lex", "unquote", "parse_number", "parse_duration", "KEYWORDS", "describe"]


class Token(NamedTuple):
    """One token. ``kind`` is the keyword in lower case (``"sum"``, ``"offset"``), the operator or
    punctuation itself (``"+"``, ``"=~"``, ``"("``), or one of IDENTIFIER, METRIC_IDENTIFIER,
    NUMBER, DURATION, STRING, EOF, ERROR. ``val`` is the text as written (for ERROR: the message);
    ``pos`` is the character offset where it starts."""

    kind: str
    val: str
    pos: int

    @property
    def end(self) -> int:
        return self.pos + len(self.val)


IDENTIFIER, METRIC_IDENTIFIER = "IDENTIFIER", "METRIC_IDENTIFIER"
NUMBER, DURATION, STRING, EOF, ERROR = "NUMBER", "DURATION", "STRING", "EOF", "ERROR"

AGGREGATORS = tuple(AGGREGATIONS)  # the operator tables are declared once, in functions.py
SET_OPERATORS = tuple(op for op, b in BINARY_OPERATORS.items() if b.set_op)
# Keywords proper (upstream's keywordsStart..keywordsEnd); printed as <by> in messages.
MODIFIER_KEYWORDS = ("bool", "by", "group_left", "group_right", "fill", "fill_left", "fill_right", "ignoring",
                     "offset", "smoothed", "anchored", "on", "without")
# Words upstream lexes as "preprocessors" (@ start()/end() and experimental duration expressions).
PREPROCESSORS = ("start", "end", "step", "range", "max_of", "min_of")
KEYWORDS: dict[str, str] = {w: w for w in (*SET_OPERATORS, "atan2", *AGGREGATORS, *MODIFIER_KEYWORDS,
                                           *PREPROCESSORS)}
KEYWORDS["inf"] = NUMBER  # upstream: Inf and NaN (any case) are number tokens
KEYWORDS["nan"] = NUMBER
OPERATORS = frozenset(("+", "-", "*", "/", "%", "^", "==", "!=", "<=", "<", ">=", ">", "</", ">/", "=~", "!~",
                       "@", "atan2", *SET_OPERATORS))
_FILL = ("fill", "fill_left", "fill_right")
_DURATION_KEYWORDS = ("step", "range", "max_of", "min_of")  # allowed inside [...]

_NAME_RUN = re.compile(r"[A-Za-z0-9_:]*")  # rest of a metric name or keyword
_LABEL_RUN = re.compile(r"[A-Za-z0-9_]*")  # rest of a label name inside braces
_STRING_SPECIAL = re.compile("[\\\\\n\ud800-\udfff]")  # what needs the careful string scanner
_SPACE_RUN = re.compile(r"[ \t\n\r]*")
_DIGITS = "0123456789"
_HEX_DIGITS = "0123456789abcdefABCDEF"
_SPACE = " \t\n\r"


def _is_alpha(c: str) -> bool:
    return c == "_" or "a" <= c <= "z" or "A" <= c <= "Z"


def _is_alnum(c: str) -> bool:
    return c == "_" or "a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9"


def describe(tok: Token) -> str:
    """How upstream names a token in "unexpected ..." messages: ``<op:+>``, ``identifier "foo"``."""
    k, v = tok.kind, tok.val
    if k == EOF:
        return "end of input"
    if k in (IDENTIFIER, METRIC_IDENTIFIER):
        return f"{'identifier' if k == IDENTIFIER else 'metric identifier'} {go_quote(v)}"
    if k in (NUMBER, DURATION, STRING):
        return f"{k.lower()} {_short_quote(v)}"
    if k in OPERATORS:
        return f"<op:{v}>"
    if k in AGGREGATORS:
        return f"<aggr:{v}>"
    if k in MODIFIER_KEYWORDS:
        return f"<{v}>"
    return _short_quote(v)


def _short_quote(v: str) -> str:
    # Go's "%.10q..." for long token texts.
    return go_quote(v[:10]) + "..." if len(v) > 10 else go_quote(v)


class _LexError(Exception):
    def __init__(self, msg: str, pos: int):
        self.msg, self.pos = msg, pos


def lex(query: str) -> list[Token]:
    """Split ``query`` into tokens; the last one is EOF, or ERROR carrying the lexical error."""
    return _Lexer(query).run()


class _Lexer:
    def __init__(self, s: str):
        self.s = s
        self.n = len(s)
        self.i = 0  # current position
        self.start = 0  # start of the token being scanned
        self.width = 0  # width of the last character read (0 at end of input)
        self.out: list[Token] = []
        self.paren_depth = 0
        self.brace_open = False
        self.bracket_open = False
        self.in_duration = False  # right after "[": only duration-expression tokens
        self.got_colon = False
        self.got_duration = False

    # --- character primitives (mirroring a rune scanner with one step of backup) -------------
    def next(self) -> str:
        if self.i >= self.n:
            self.width = 0
            return ""
        self.width = 1
        self.i += 1
        return self.s[self.i - 1]

    def peek(self) -> str:
        return self.s[self.i] if self.i < self.n else ""

    def backup(self) -> None:
        self.i -= self.width

    def accept(self, valid: str) -> bool:
        c = self.next()
        if c and c in valid:
            return True
        self.backup()
        return False

    def emit(self, kind: str) -> None:
        self.out.append(Token(kind, self.s[self.start:self.i], self.start))
        self.start = self.i

    def paren(self, c: str) -> None:
        """Emit ``(`` or ``)`` and keep the nesting depth; a ``)`` too many is an error."""
        self.emit(c)
        self.paren_depth += 1 if c == "(" else -1
        if self.paren_depth < 0:
            raise self.error_after_emit(f"unexpected right parenthesis {go_quote_rune(c)}")

    def error(self, msg: str) -> _LexError:
        return _LexError(msg, self.start)

    def error_after_emit(self, msg: str) -> _LexError:
        """An error found just after emitting a token: as upstream, the error replaces it."""
        self.out.pop()
        return _LexError(msg, self.i)

    def skip_spaces(self) -> None:
        self.i = self.start = _SPACE_RUN.match(self.s, self.i).end()

    # --- driver ---------------------------------------------------------------------------
    def run(self) -> list[Token]:
        try:
            while True:
                if self.brace_open:
                    done = self.inside_braces()
                elif self.in_duration:
                    done = self.duration_expr()
                else:
                    done = self.statement()
                if done:
                    break
        except _LexError as e:
            self.out.append(Token(ERROR, e.msg, e.pos))
        return self.out

    def skip_comment(self) -> None:
        while self.i < self.n and self.s[self.i] not in "\r\n":
            self.i += 1
        self.start = self.i

    def statement(self) -> bool:  # noqa: C901 - one branch per character class, as upstream
        if self.s.startswith("#", self.i):
            self.skip_comment()
            return False
        c = self.next()
        if c == "":
            if self.paren_depth != 0:
                raise self.error("unclosed left parenthesis")
            if self.bracket_open:
                raise self.error("unclosed left bracket")
            self.emit(EOF)
            return True
        if _is_alpha(c) and not self.bracket_open:  # the common case first
            self.backup()
            self.keyword_or_identifier()
        elif c in _SPACE:
            self.skip_spaces()
        elif c in ",*/%+-^@":
            self.emit(c)
        elif c == "=":
            t = self.peek()
            if t == "=":
                self.next()
                self.emit("==")
            elif t == "~":
                raise self.error(f"unexpected character after '=': {go_quote_rune(t)}")
            else:
                self.emit("=")
        elif c == "!":
            t = self.next()
            if t != "=":
                raise self.error(f"unexpected character after '!': {go_quote_rune(t)}")
            self.emit("!=")
        elif c in "<>":
            t = self.peek()
            if t in ("=", "/") and t:
                self.next()
                self.emit(c + t)
            else:
                self.emit(c)
        elif "0" <= c <= "9" or (c == "." and "0" <= self.peek() <= "9" and self.peek()):
            self.backup()
            self.number_or_duration()
        elif c in "\"'":
            self.string(c)
        elif c == "`":
            self.raw_string()
        elif _is_alpha(c) or c == ":":
            if not self.bracket_open:
                self.backup()
                self.keyword_or_identifier()
            elif c == ":":
                if self.got_colon:
                    raise self.error(f"unexpected colon {go_quote_rune(c)}")
                self.emit(":")
                self.got_colon = True
            elif not self.duration_keyword(c):
                raise self.error(f"unexpected character: {go_quote_rune(c)}, expected ':'")
        elif c == "(" or c == ")":
            self.paren(c)
        elif c == "{":
            self.emit("{")
            self.brace_open = True
        elif c == "[":
            if self.bracket_open:
                raise self.error(f"unexpected left bracket {go_quote_rune(c)}")
            self.got_colon = False
            self.emit("[")
            self.skip_spaces()
            self.bracket_open = True
            self.in_duration = True
        elif c == "]":
            if not self.bracket_open:
                raise self.error(f"unexpected right bracket {go_quote_rune(c)}")
            self.emit("]")
            self.bracket_open = False
        else:
            raise self.error(f"unexpected character: {go_quote_rune(c)}")
        return False

    def inside_braces(self) -> bool:
        if self.s.startswith("#", self.i):
            self.skip_comment()
            return False
        c = self.next()
        if c == "":
            raise self.error("unexpected end of input inside braces")
        if c in _SPACE:
            self.skip_spaces()
        elif _is_alpha(c):
            self.i = _LABEL_RUN.match(self.s, self.i).end()
            self.emit(IDENTIFIER)
        elif c == ",":
            self.emit(",")
        elif c in "\"'":
            self.string(c)
        elif c == "`":
            self.raw_string()
        elif c == "=":
            self.emit("=~" if self.accept("~") else "=")
        elif c == "!":
            t = self.next()
            if t in ("~", "=") and t:
                self.emit("!" + t)
            else:
                raise self.error(f"unexpected character after '!' inside braces: {go_quote_rune(t)}")
        elif c == "{":
            raise self.error(f"unexpected left brace {go_quote_rune(c)}")
        elif c == "}":
            self.emit("}")
            self.brace_open = False
        else:
            raise self.error(f"unexpected character inside braces: {go_quote_rune(c)}")
        return False

    def duration_expr(self) -> bool:
        c = self.next()
        if c == "":
            raise self.error("unexpected end of input in duration expression")
        if c == "]":
            self.emit("]")
            self.bracket_open = self.got_colon = self.in_duration = False
        elif c == ":":
            self.emit(":")
            if not self.got_duration:
                raise self.error_after_emit("unexpected colon before duration in duration expression")
            if self.got_colon:
                raise self.error_after_emit("unexpected repeated colon in duration expression")
            self.got_colon = True
        elif c == "(" or c == ")":
            self.paren(c)
        elif c in _SPACE:
            self.skip_spaces()
        elif c in "+-*/%^,":
            self.emit(c)
        elif c.lower() in "srm" and self.duration_keyword(c):
            pass
        elif "0" <= c <= "9" or (c == "." and "0" <= self.peek() <= "9" and self.peek()):
            self.backup()
            self.got_duration = True
            self.in_duration = False
            self.number_or_duration()
        else:
            raise self.error(f"unexpected character in duration expression: {go_quote_rune(c)}")
        return False

    def duration_keyword(self, first: str) -> bool:
        """step/range/max_of/min_of inside brackets (experimental duration expressions)."""
        if first.lower() not in "srm":
            return False
        while _is_alpha(self.next()):
            pass
        self.backup()
        word = self.s[self.start:self.i].lower()
        if word in _DURATION_KEYWORDS:
            self.emit(word)
            return True
        return False

    # --- numbers and durations -------------------------------------------------------------
    def number_or_duration(self) -> None:
        if self.scan_number():
            self.emit(NUMBER)
            return
        if self.accept_remaining_duration():
            self.backup()
            self.emit(DURATION)
            return
        raise self.error(f"bad number or duration syntax: {go_quote(self.s[self.start:self.i])}")

    def scan_number(self) -> bool:
        """Consume a decimal, hex or float number; False when what follows makes it something else
        (a duration such as ``5m``, or garbage). Which is which is decided exactly as upstream."""
        initial = self.i
        digits = _DIGITS
        if self.accept("0") and self.accept("xX"):
            self.accept("_")
            digits = _HEX_DIGITS
        self.accept(".")
        self.accept(digits)
        dot = exponent = False
        pattern = digits + "._eE"
        while self.peek() and self.peek() in pattern:
            c = self.peek()
            if c == "." and dot:
                self.accept(".")
                return False
            if c in "eE" and exponent:
                self.accept("eE")
                return False
            if self.accept("."):
                dot = True
                if self.accept("_.") or digits is _HEX_DIGITS:  # no fractional hex literals
                    return False
                continue
            if self.accept("eE"):
                exponent = True
                self.accept("+-")
                if self.accept("._eE") or self.peek() == "":
                    return False
                continue
            if self.accept("_"):
                if self.accept("._eE") or self.peek() == "":
                    return False
                continue
            while self.accept(digits):
                pass
        if self.i == initial:
            return False
        return not _is_alnum(self.peek())

    def accept_remaining_duration(self) -> bool:
        if not self.accept("smhdwy"):
            return False
        self.accept("s")  # "ms"; bad units such as "hs" are reported by parse_duration
        while self.accept(_DIGITS):
            while self.accept(_DIGITS):
                pass
            if not self.accept("smhdw"):  # "y" can only come first
                return False
            self.accept("s")
        return not _is_alnum(self.next())

    # --- identifiers ------------------------------------------------------------------------
    def keyword_or_identifier(self) -> None:
        self.i = _NAME_RUN.match(self.s, self.i).end()
        word = self.s[self.start:self.i]
        kind = KEYWORDS.get(word.lower())
        if kind is not None:
            # fill/fill_left/fill_right are keywords only before "(" so that they stay usable as
            # metric names (upstream does the same).
            if kind in _FILL and not self.s[self.i:].lstrip(_SPACE).startswith("("):
                kind = IDENTIFIER
            self.emit(kind)
        else:
            self.emit(METRIC_IDENTIFIER if ":" in word else IDENTIFIER)

    # --- strings ----------------------------------------------------------------------------
    def string(self, quote: str) -> None:
        end = self.s.find(quote, self.i)
        if end >= 0 and not _STRING_SPECIAL.search(self.s, self.i, end):  # no escapes or newlines
            self.i = end + 1
            self.emit(STRING)
            return
        while True:
            c = self.next()
            if c == "\\":
                self.escape(quote)
            elif c == "" or c == "\n":
                raise self.error("unterminated quoted string")
            elif c == quote:
                break
            elif "\ud800" <= c <= "\udfff":
                raise self.error("invalid UTF-8 rune")
        self.emit(STRING)

    def raw_string(self) -> None:
        while True:
            c = self.next()
            if c == "":
                raise self.error("unterminated raw string")
            if c == "`":
                break
            if "\ud800" <= c <= "\udfff":
                raise self.error("invalid UTF-8 rune")
        self.emit(STRING)

    def escape(self, quote: str) -> None:
        c = self.next()
        if c and (c in "abfnrtv\\" or c == quote):
            return
        if c and c in "01234567":
            n, base, max_val = 3, 8, 255
        elif c in ("x", "u", "U") and c:
            n, base, max_val = {"x": 2, "u": 4, "U": 8}[c], 16, 0x10FFFF
            if c == "x":
                max_val = 255
            c = self.next()
        elif c == "":
            raise self.error("escape sequence not terminated")
        else:
            raise self.error(f"unknown escape sequence {_go_unicode(c)}")
        x = 0
        while n > 0:
            d = int(c, 16) if c and c in _HEX_DIGITS else 16
            if d >= base:
                if c == "":
                    raise self.error("escape sequence not terminated")
                raise self.error(f"illegal character {_go_unicode(c)} in escape sequence")
            x = x * base + d
            n -= 1
            if n > 0:
                c = self.next()
        if x > max_val or 0xD800 <= x < 0xE000:
            raise self.error("escape sequence is an invalid Unicode code point")


def _go_unicode(c: str) -> str:
    """Go's ``%#U``: ``U+0063 'c'``."""
    cp = ord(c)
    return f"U+{cp:04X} '{c}'" if c.isprintable() else f"U+{cp:04X}"


# --- decoding literals ------------------------------------------------------------------------

_SIMPLE_ESCAPES = {"a": b"\a", "b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v",
                   "\\": b"\\", "'": b"'", '"': b'"'}


def unquote(text: str) -> str:
    """The value of a string literal as lexed (quotes included): Go escape rules, raw for backticks."""
    body = text[1:-1]
    if text[0] == "`":
        return body.replace("\r", "")  # Go drops carriage returns from raw strings
    if "\\" not in body:
        return body
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        e = body[i + 1]
        if e in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[e]
            i += 2
        elif e in "01234567":
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        elif e == "x":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        else:  # u or U: a code point, written as UTF-8
            width = 4 if e == "u" else 8
            out += chr(int(body[i + 2:i + 2 + width], 16)).encode("utf-8")
            i += 2 + width
    return out.decode("utf-8", "surrogateescape")


def parse_number(text: str) -> float:
    """Go's ``strconv.ParseInt(text, 0, 64)``, falling back to ``ParseFloat`` (as upstream)."""
    lower = text.lower()
    if lower in ("inf", "nan"):
        return float(lower)
    digits = text.replace("_", "")
    try:
        if len(digits) > 1 and digits[0] == "0" and digits[1] not in "xX.eE":
            value = int(digits, 8)  # a leading 0 means octal, as in Go
        else:
            value = int(text, 0)
        if -(2**63) <= value < 2**63:
            return float(value)
    except ValueError:
        pass
    if lower.startswith("0x"):
        raise ValueError(f"strconv.ParseFloat: parsing {go_quote(text)}: invalid syntax")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"strconv.ParseFloat: parsing {go_quote(text)}: invalid syntax") from None
    if math.isinf(value):
        raise ValueError(f"strconv.ParseFloat: parsing {go_quote(text)}: value out of range")
    return value


# Duration units of Prometheus' duration syntax (common/model ParseDuration), in nanoseconds, biggest
# first: units must appear in this order, each at most once.
_NS_PER_MS = 1_000_000
_UNITS = {"y": 365 * 24 * 3600 * 10**9, "w": 7 * 24 * 3600 * 10**9, "d": 24 * 3600 * 10**9,
          "h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": _NS_PER_MS}
_UNIT_ORDER = {u: i for i, u in enumerate(_UNITS)}
_MAX_DURATION_NS = 2**63 - 1  # a Go time.Duration: about 292 years


def parse_duration_ns(text: str) -> int:
    """``1h30m`` -> nanoseconds; ValueError with upstream's message when malformed."""
    if text == "0":
        return 0
    if text == "":
        raise ValueError("empty duration string")
    total, last, i, n = 0, -1, 0, len(text)
    while i < n:
        j = i
        while j < n and text[j].isdigit() and text[j] in _DIGITS:
            j += 1
        if j == i:
            raise ValueError(f"not a valid duration string: {go_quote(text)}")
        value = int(text[i:j])
        k = j
        while k < n and text[k] not in _DIGITS:
            k += 1
        unit = text[j:k]
        if not unit:
            raise ValueError(f"not a valid duration string: {go_quote(text)}")
        if unit not in _UNITS:
            raise ValueError(f"unknown unit {go_quote(unit)} in duration {go_quote(text)}")
        if _UNIT_ORDER[unit] <= last:
            raise ValueError(f"not a valid duration string: {go_quote(text)}")
        last = _UNIT_ORDER[unit]
        total += value * _UNITS[unit]
        if total > _MAX_DURATION_NS:
            raise ValueError("duration out of range")
        i = k
    return total


def parse_duration(text: str) -> int:
    """``1h30m`` -> milliseconds (Prometheus duration syntax: y w d h m s ms, biggest first)."""
    return parse_duration_ns(text) // _NS_PER_MS
