"""The data model every component speaks: label sets, matchers, samples, the stale marker.

Prometheus defines these once (``model/labels``, ``model/value``) and lets scrape, tsdb, promql,
rules and the web API share them; so do we. Keeping them in one small module means a reader meets
"what is a series" exactly once.

Why RE2 for matchers: a user's regular expression must never be able to hang the process
(catastrophic backtracking), and RE2 is also what Prometheus uses, so the accepted syntax matches.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import re2

METRIC_NAME = "__name__"

# The stale marker is one specific NaN, told apart from an ordinary NaN by its bits
# (upstream model/value: StaleNaN = 0x7ff0000000000002).
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]
NORMAL_NAN_BITS = 0x7FF8000000000001  # upstream value.NormalNaN


def is_stale_nan(v: float) -> bool:
    """True only for the stale marker, not for any other NaN."""
    return v != v and struct.unpack("<Q", struct.pack("<d", v))[0] == STALE_NAN_BITS


class Labels:
    """An immutable, sorted set of label name/value pairs with a cached hash.

    Sorted so that two label sets with the same pairs compare and hash equal whatever the order
    they were built in; immutable so that they can key dicts (the TSDB's series map, the engine's
    output grouping) without defensive copies.
    """

    __slots__ = ("_pairs", "_hash", "_map")

    def __init__(self, pairs: Iterable[tuple[str, str]] | Mapping[str, str] = ()):
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        # Empty values mean "label absent" in Prometheus, so they are dropped here once.
        self._pairs: tuple[tuple[str, str], ...] = tuple(sorted((k, v) for k, v in items if v != ""))
        self._hash = hash(self._pairs)
        self._map: dict[str, str] | None = None  # built at the first get(): the TSDB's label sets live long

    @classmethod
    def from_sorted(cls, pairs: tuple[tuple[str, str], ...]) -> Labels:
        """Build from pairs already sorted and free of empty values (hot paths)."""
        obj = cls.__new__(cls)
        obj._pairs = pairs
        obj._hash = hash(pairs)
        obj._map = None
        return obj

    # --- reading -------------------------------------------------------------------------
    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        return self._pairs

    @property
    def name(self) -> str:
        return self.get(METRIC_NAME)

    def get(self, name: str, default: str = "") -> str:
        m = self._map
        if m is None:
            m = self._map = dict(self._pairs)
        return m.get(name, default)

    def key(self, names: tuple[str, ...]) -> tuple[str | None, ...]:
        """The values of ``names`` in that order, None where absent: what ``by (...)`` groups on."""
        m = self._map
        if m is None:
            m = self._map = dict(self._pairs)
        return tuple(map(m.get, names))

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self._pairs)

    def names(self) -> list[str]:
        return [k for k, _ in self._pairs]

    def to_dict(self) -> dict[str, str]:
        return dict(self._pairs)

    # --- deriving new sets -----------------------------------------------------------------
    def with_(self, **updates: str) -> Labels:
        return self.merge(updates)

    def merge(self, updates: Mapping[str, str]) -> Labels:
        d = dict(self._pairs)
        d.update(updates)
        return Labels(d)

    def without(self, *names: str) -> Labels:
        drop = set(names)
        return Labels.from_sorted(tuple(p for p in self._pairs if p[0] not in drop))

    def only(self, *names: str) -> Labels:
        keep = set(names)
        return Labels.from_sorted(tuple(p for p in self._pairs if p[0] in keep))

    def without_name(self) -> Labels:
        return self.without(METRIC_NAME)

    # --- dunder --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Labels) and self._hash == other._hash and self._pairs == other._pairs

    def __lt__(self, other: Labels) -> bool:
        return self._pairs < other._pairs

    def __repr__(self) -> str:
        return f"Labels({self})"

    def __str__(self) -> str:
        """Prometheus series notation: name{a="b", c="d"}."""
        name = self.get(METRIC_NAME)
        rest = ", ".join(f'{k}="{_escape(v)}"' for k, v in self._pairs if k != METRIC_NAME)
        if name and not rest:
            return name
        return f"{name}{{{rest}}}"


EMPTY_LABELS = Labels()


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# --- matchers --------------------------------------------------------------------------------

MATCH_EQUAL, MATCH_NOT_EQUAL, MATCH_REGEXP, MATCH_NOT_REGEXP = "=", "!=", "=~", "!~"


class RegexError(ValueError):
    """A matcher's regular expression does not compile (RE2 syntax)."""


@lru_cache(maxsize=4096)
def compile_anchored(pattern: str):
    """Compile a Prometheus label regex: fully anchored, and `.` matches newlines (Prometheus 3)."""
    options = re2.Options()
    options.dot_nl = True
    options.log_errors = False  # the error is raised to the caller; RE2 must not print it too
    try:
        return re2.compile(f"^(?:{pattern})$", options)
    except re2.error as e:  # pragma: no branch - message comes from RE2
        raise RegexError(f"invalid regular expression {pattern!r}: {_re2_message(e)}") from None


def _re2_message(e: Exception) -> str:
    msg = e.args[0] if e.args else str(e)
    return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)


@lru_cache(maxsize=1024)
def compile_unanchored(pattern: str):
    """Compile an RE2 regex for searching (template ``match``/``reReplaceAll``), not anchored."""
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        raise RegexError(f"invalid regular expression {pattern!r}: {_re2_message(e)}") from None


@dataclass(frozen=True)
class Matcher:
    """One label matcher of a selector: ``name op "value"``."""

    type: str
    name: str
    value: str
    _regex: object = field(default=None, compare=False, repr=False, hash=False)

    def __post_init__(self):
        if self.type in (MATCH_REGEXP, MATCH_NOT_REGEXP):
            object.__setattr__(self, "_regex", compile_anchored(self.value))
        elif self.type not in (MATCH_EQUAL, MATCH_NOT_EQUAL):
            raise ValueError(f"unknown matcher type {self.type!r}")

    def matches(self, value: str) -> bool:
        t = self.type
        if t == MATCH_EQUAL:
            return value == self.value
        if t == MATCH_NOT_EQUAL:
            return value != self.value
        hit = self._regex.match(value) is not None
        return hit if t == MATCH_REGEXP else not hit

    def matches_empty(self) -> bool:
        """Whether the matcher selects series that lack the label (value "")."""
        return self.matches("")

    def __str__(self) -> str:
        return f'{self.name}{self.type}"{_escape(self.value)}"'


def matches_all(labels: Labels, matchers: Iterable[Matcher]) -> bool:
    return all(m.matches(labels.get(m.name)) for m in matchers)


# --- time helpers ----------------------------------------------------------------------------

def to_ms(seconds: float) -> int:
    """Seconds (float) to integer milliseconds, as Prometheus timestamps are stored."""
    return int(math.floor(seconds * 1000 + 0.5))

