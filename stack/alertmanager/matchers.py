"""Alertmanager matcher strings: ``alertname="X"``, ``severity=~"warn|crit"``, ``{a="b", c!=d}``.

Alertmanager configs, silences and amtool all speak one small matcher language (upstream
``pkg/labels/parse.go``): a comma-separated list of ``name OP value`` optionally wrapped in braces,
values double-quoted (with ``\\"``, ``\\\\`` and ``\\n`` escapes) or bare. Parsing it here once means a
route, an inhibit rule, an API ``filter`` parameter and a silence all accept the same text and
report mistakes at the same character position.

A missing label reads as the empty string, so ``foo=""`` matches alerts without ``foo``; regexes
are fully anchored and compiled with RE2 (``stack.model.Matcher``), so user input cannot hang us.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stack.model import (
    MATCH_EQUAL,
    MATCH_NOT_EQUAL,
    MATCH_NOT_REGEXP,
    MATCH_REGEXP,
    Labels,
    Matcher,
    RegexError,
)

# Classic label names; Alertmanager 0.25 (our interop target) accepts nothing else.
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_OPS = (MATCH_REGEXP, MATCH_NOT_REGEXP, MATCH_NOT_EQUAL, MATCH_EQUAL)  # longest first


class MatcherParseError(ValueError):
    """A matcher string is malformed; the message names the character position (1-based)."""


def parse_matchers(text: str) -> list[Matcher]:
    """Parse ``'{a="b", c=~"d|e"}'`` or ``'a=b,c=~d|e'`` into matchers (ANDed by the caller)."""
    p = _Parser(text)
    return p.parse()


def parse_matcher(text: str) -> Matcher:
    """Parse exactly one matcher."""
    ms = parse_matchers(text)
    if len(ms) != 1:
        raise MatcherParseError(f"{text!r}: expected exactly one matcher, got {len(ms)}")
    return ms[0]


def matches(matchers: Iterable[Matcher], labels: Labels) -> bool:
    """All matchers match; a missing label is the empty string."""
    return all(m.matches(labels.get(m.name)) for m in matchers)


def sort_key(m: Matcher) -> tuple[str, str, str]:
    """Upstream sorts a route's matchers by name, then value, then type for the route key."""
    return (m.name, m.value, m.type)


def render(matchers: Iterable[Matcher]) -> str:
    """``{a="b",c=~"d"}`` — the form used in route keys (no space after the comma)."""
    return "{" + ",".join(str(m) for m in sorted(matchers, key=sort_key)) + "}"


def legacy_matchers(equal: dict, regex: dict) -> list[Matcher]:
    """The deprecated ``match`` / ``match_re`` maps as matchers (regexes anchored as usual)."""
    out = [Matcher(MATCH_EQUAL, str(k), str(v)) for k, v in equal.items()]
    out += [Matcher(MATCH_REGEXP, str(k), str(v)) for k, v in regex.items()]
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, message: str, pos: int | None = None) -> MatcherParseError:
        at = (self.pos if pos is None else pos) + 1
        return MatcherParseError(f"{self.text!r}: {message} at character {at}")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def parse(self) -> list[Matcher]:
        self.skip_ws()
        braced = self.text.startswith("{", self.pos)
        if braced:
            self.pos += 1
        out: list[Matcher] = []
        while True:
            self.skip_ws()
            if braced and self.text.startswith("}", self.pos):
                self.pos += 1
                break
            if self.pos >= len(self.text):
                if braced:
                    raise self.fail("missing closing '}'")
                break
            out.append(self.matcher(braced))
            self.skip_ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if braced and self.text.startswith("}", self.pos):
                self.pos += 1
                break
            if self.pos < len(self.text):
                raise self.fail(f"unexpected {self.text[self.pos]!r}, expected ','")
        self.skip_ws()
        if self.pos < len(self.text):
            raise self.fail(f"unexpected {self.text[self.pos]!r} after the matchers")
        if not out and not braced:
            raise self.fail("no matchers")
        return out

    def matcher(self, braced: bool) -> Matcher:
        start = self.pos
        if self.text.startswith('"', self.pos):
            name = self.quoted()
        else:
            m = _NAME_RE.match(self.text, self.pos)
            if not m:
                raise self.fail("expected a label name")
            name, self.pos = m.group(0), m.end()
        if not LABEL_NAME_RE.match(name):
            raise self.fail(f"invalid label name {name!r}", start)
        self.skip_ws()
        op = next((o for o in _OPS if self.text.startswith(o, self.pos)), None)
        if op is None:
            raise self.fail("expected one of =, !=, =~, !~")
        self.pos += len(op)
        self.skip_ws()
        if self.text.startswith('"', self.pos):
            value = self.quoted()
        else:
            end = self.pos
            stops = ",}" if braced else ","
            while end < len(self.text) and self.text[end] not in stops:
                if self.text[end] == '"':
                    raise self.fail("unexpected '\"' inside an unquoted value", end)
                end += 1
            value, self.pos = self.text[self.pos:end].strip(), end
        try:
            return Matcher(op, name, value)
        except RegexError as e:
            raise self.fail(str(e), start) from None

    def quoted(self) -> str:
        start = self.pos
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
                self.pos += 2
                continue
            if c == '"':
                self.pos += 1
                return "".join(out)
            out.append(c)
            self.pos += 1
        raise self.fail("unterminated quoted string", start)


def matcher_from_api(d: dict) -> Matcher:
    """A silence/API matcher object ``{name, value, isRegex, isEqual}`` (isEqual defaults to true)."""
    is_regex = bool(d.get("isRegex", False))
    is_equal = d.get("isEqual", True)
    is_equal = True if is_equal is None else bool(is_equal)
    op = {(True, False): MATCH_EQUAL, (False, False): MATCH_NOT_EQUAL,
          (True, True): MATCH_REGEXP, (False, True): MATCH_NOT_REGEXP}[(is_equal, is_regex)]
    return Matcher(op, str(d["name"]), str(d["value"]))


def matcher_to_api(m: Matcher) -> dict:
    return {"name": m.name, "value": m.value, "isRegex": m.type in (MATCH_REGEXP, MATCH_NOT_REGEXP),
            "isEqual": m.type in (MATCH_EQUAL, MATCH_REGEXP)}
