"""The one error a user sees for a malformed query: where it is, and what is wrong there.

Prometheus reports a bad query as ``1:15: parse error: unclosed left parenthesis`` (line and
column, both 1-based) and so do we, so that messages read the same as in the Prometheus UI and
can be searched for in its issue tracker. Notebooks get more: ``caret()`` draws the query with a
caret under the offending place, because a column number is hard to count by eye.

Positions are character offsets into the query (upstream counts bytes; for ASCII queries the two
agree, and characters are what a reader counts).
"""

from __future__ import annotations

from stack.promql.ast import PositionRange

__all__ = ["ParseError", "go_quote", "go_quote_rune", "go_float_f", "regex_error_message"]


class ParseError(ValueError):
    """A query that is not valid PromQL. ``str(e)`` is upstream's ``line:col: parse error: msg``."""

    #: The HTTP API's ``errorType`` for this error (upstream returns bad_data for parse errors).
    error_type = "bad_data"

    def __init__(self, msg: str, query: str, position_range: PositionRange):
        self.msg = msg
        self.query = query
        self.position_range = position_range
        self.position = position_range.start
        self.line, self.column = _line_col(query, position_range.start)
        super().__init__(str(self))

    @property
    def pos(self) -> int:
        """Alias of ``position`` (the engine's QueryError calls it ``pos``)."""
        return self.position

    def __str__(self) -> str:
        if not self.query:
            where = "unknown position"
        else:
            where = f"{self.line}:{self.column}"
        return f"{where}: parse error: {self.msg}"

    def caret(self) -> str:
        """The query's offending line with ``^~~~`` under the error's range, then the message."""
        lines = self.query.split("\n") or [""]
        line_text = lines[self.line - 1] if self.line - 1 < len(lines) else ""
        col0 = self.column - 1
        end = self.position_range.end
        # Underline to the end of the range, but never past the end of this line.
        line_start = self.position - col0
        width = max(1, min(end, line_start + len(line_text)) - self.position)
        marker = " " * col0 + "^" + "~" * (width - 1)
        return f"{line_text}\n{marker}\n{self}"

    render = caret

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the caret form
        p.text(self.caret())


def _line_col(query: str, pos: int) -> tuple[int, int]:
    pos = max(0, min(pos, len(query)))
    line = query.count("\n", 0, pos) + 1
    last_nl = query.rfind("\n", 0, pos)
    return line, pos - last_nl


# --- Go-style quoting -------------------------------------------------------------------------
# Upstream messages quote names and values with Go's %q; we reproduce its output so that messages
# match character for character. Bytes that are not valid UTF-8 are carried in our strings as
# lone surrogates (Python's "surrogateescape"), and Go prints those bytes as \xNN.

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               "\\": "\\\\"}


def _go_escape(ch: str, quote: str) -> str:
    if ch == quote:
        return "\\" + ch
    if ch in _GO_ESCAPES:
        return _GO_ESCAPES[ch]
    cp = ord(ch)
    if 0xDC80 <= cp <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{cp - 0xDC00:02x}"
    if ch.isprintable():
        return ch
    if cp < 0x80:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote`` / ``%q`` for strings."""
    return '"' + "".join(_go_escape(c, '"') for c in s) + '"'


def go_quote_rune(ch: str) -> str:
    """Go's ``%q`` for a single rune: ``'x'``; end of input prints as Go's replacement rune."""
    if ch == "":
        ch = "\ufffd"
    return "'" + _go_escape(ch, "'") + "'"


def go_float_f(x: float) -> str:
    """Go's ``%f``: six decimals, and ``+Inf``/``-Inf``/``NaN`` for the special values."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    return f"{x:.6f}"


_RE2_TO_GO = {  # RE2 and Go's regexp share error codes but word a few differently
    "missing )": "missing closing )",
    "missing ]": "missing closing ]",
    "no argument for repetition operator": "missing argument to repetition operator",
    "bad repetition operator": "invalid nested repetition operator",
    "trailing \\": "trailing backslash at end of expression",
}


def regex_error_message(pattern: str, text: str) -> str:
    """Go's regexp error text (``error parsing regexp: missing closing ): ...``) from RE2's.

    ``text`` is stack.model.RegexError's message: ``invalid regular expression '<pattern>': b'<RE2 error>'``.
    """
    prefix = f"invalid regular expression {pattern!r}: "
    detail = text[len(prefix):] if text.startswith(prefix) else text
    detail = detail.removeprefix("b").strip("'\"")
    code, _, fragment = detail.partition(": ")
    # Go quotes the offending part of the pattern, as RE2 does; when that is the whole pattern it is
    # upstream's anchored form "^(?s:...)$" (ours is "^(?:...)$" with the dot_nl option instead).
    if fragment.startswith("^(?:") and fragment.endswith(")$"):
        fragment = "^(?s:" + fragment[4:]
    return f"error parsing regexp: {_RE2_TO_GO.get(code, code)}: `{fragment}`"
