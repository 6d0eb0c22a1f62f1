"""The head block: every series in memory, with a postings index for fast selection.

FIRST VERSION (issue 2): plain Python lists per series, no WAL. Issue 3 replaces the internals
(chunked numpy storage, WAL, blocks) behind the same methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from stack.model import MATCH_EQUAL, Labels, Matcher


@dataclass
class SeriesData:
    """One series' samples in a time range: ``t`` int64 ms ascending, ``v`` float64.

    Stale markers are kept in ``v`` (the StaleNaN bit pattern) for the engine to interpret.
    """

    labels: Labels
    t: np.ndarray
    v: np.ndarray


class _MemSeries:
    __slots__ = ("labels", "ts", "vs")

    def __init__(self, labels: Labels):
        self.labels = labels
        self.ts: list[int] = []
        self.vs: list[float] = []


class Head:
    """All series in memory. Thread-safe enough for one writer task and concurrent readers."""

    def __init__(self):
        self._series: dict[Labels, _MemSeries] = {}
        self._postings: dict[str, dict[str, set[Labels]]] = {}

    # --- writing ---------------------------------------------------------------------------
    def appender(self) -> Appender:
        return Appender(self)

    def _get_or_create(self, labels: Labels) -> _MemSeries:
        s = self._series.get(labels)
        if s is None:
            s = self._series[labels] = _MemSeries(labels)
            for k, v in labels:
                self._postings.setdefault(k, {}).setdefault(v, set()).add(labels)
        return s

    # --- reading ---------------------------------------------------------------------------
    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[SeriesData]:
        """Series matching all ``matchers`` with their samples in ``[mint, maxt]`` (ms)."""
        out = []
        for labels in self._matching(matchers):
            s = self._series[labels]
            t = np.asarray(s.ts, dtype=np.int64)
            lo, hi = np.searchsorted(t, mint, "left"), np.searchsorted(t, maxt, "right")
            if hi > lo:
                out.append(SeriesData(labels, t[lo:hi], np.asarray(s.vs[lo:hi], dtype=np.float64)))
        out.sort(key=lambda sd: sd.labels)
        return out

    def series(self, matchers: Sequence[Matcher], mint: int | None = None, maxt: int | None = None):
        return sorted(self._matching(matchers))

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        if not matchers:
            return sorted(self._postings)
        return sorted({k for ls in self._matching(matchers) for k, _ in ls})

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        if not matchers:
            return sorted(self._postings.get(name, {}))
        return sorted({ls.get(name) for ls in self._matching(matchers)} - {""})

    @property
    def num_series(self) -> int:
        return len(self._series)

    def _matching(self, matchers: Sequence[Matcher]) -> Iterable[Labels]:
        candidates: set[Labels] | None = None
        for m in matchers:
            if m.type == MATCH_EQUAL and m.value != "":
                hit = self._postings.get(m.name, {}).get(m.value, set())
                candidates = set(hit) if candidates is None else candidates & hit
        pool = self._series.keys() if candidates is None else candidates
        return [ls for ls in pool if all(m.matches(ls.get(m.name)) for m in matchers)]


class Appender:
    """Buffers samples and makes them visible (and, from issue 3, durable) on ``commit``."""

    def __init__(self, head: Head):
        self._head = head
        self._pending: list[tuple[Labels, int, float]] = []

    def append(self, labels: Labels, t: int, v: float) -> None:
        self._pending.append((labels, t, v))

    def commit(self) -> None:
        for labels, t, v in self._pending:
            s = self._head._get_or_create(labels)
            if s.ts and t <= s.ts[-1]:
                continue  # out of order or duplicate: dropped, as upstream does by default
            s.ts.append(t)
            s.vs.append(v)
        self._pending.clear()

    def rollback(self) -> None:
        self._pending.clear()
