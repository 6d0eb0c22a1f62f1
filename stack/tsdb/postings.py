"""The label index: for every label name and value, the sorted ids of the series that carry it.

A selector such as ``http_requests_total{job="api", code=~"5.."}`` is answered the way upstream's
``PostingsForMatchers`` does, without looking at every series:

* matchers that do *not* match the empty string select a set directly: ``="x"`` is one postings
  list; ``=~``/``!~``/``!=""`` are the union of the lists of the label's values that match (we loop
  over the label's distinct values, never over series);
* matchers that *do* match the empty string (``!="x"``, ``!~"x"``, ``=~"x|"``, ``=""``) also select
  series that lack the label, so they are applied by *subtracting* the series they reject;
* the result is the intersection of the positive sets (all series if there is none) minus the
  union of the rejected sets. Sets are sorted int64 numpy arrays, so these are C-speed merges.

Used by the head (series added as they are created) and by each persisted block (built once).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stack.model import MATCH_EQUAL, Labels, Matcher

_EMPTY = np.zeros(0, dtype=np.int64)


class Postings:
    """label name -> label value -> ascending series ids (ids must be added in ascending order)."""

    def __init__(self):
        self._index: dict[str, dict[str, list[int]]] = {}
        self._all: list[int] = []
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def add(self, sid: int, labels: Labels) -> None:
        self._all.append(sid)
        for name, value in labels:
            self._index.setdefault(name, {}).setdefault(value, []).append(sid)
        if self._cache:
            self._cache.clear()

    # --- reading ---------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self._index)

    def values(self, name: str) -> list[str]:
        return sorted(self._index.get(name, ()))

    def all_ids(self) -> np.ndarray:
        return self.get("", "")

    def get(self, name: str, value: str) -> np.ndarray:
        """The ids for one name/value pair ("", "" means every series)."""
        key = (name, value)
        arr = self._cache.get(key)
        if arr is None:
            ids = self._all if key == ("", "") else self._index.get(name, {}).get(value, ())
            arr = self._cache[key] = np.array(ids, dtype=np.int64)
        return arr

    def value_counts(self) -> dict[str, dict[str, int]]:
        """Number of series per label name and value (for /api/v1/status/tsdb)."""
        return {n: {v: len(ids) for v, ids in vals.items()} for n, vals in self._index.items()}

    def select(self, matchers: Sequence[Matcher]) -> np.ndarray:
        """Ids of the series matching all ``matchers``, ascending."""
        positive: list[np.ndarray] = []
        negative: list[np.ndarray] = []
        for m in matchers:
            if m.matches_empty():
                # Rejects only series that have the label with a value the matcher refuses.
                negative.append(self._union(m.name, lambda value, m=m: not m.matches(value)))
            elif m.type == MATCH_EQUAL:
                positive.append(self.get(m.name, m.value))
            else:
                positive.append(self._union(m.name, m.matches))
        positive.sort(key=len)  # intersect the smallest first
        result = positive[0] if positive else self.all_ids()
        for p in positive[1:]:
            if not len(result):
                break
            result = np.intersect1d(result, p, assume_unique=True)
        for n in negative:
            if len(result) and len(n):
                result = np.setdiff1d(result, n, assume_unique=True)
        return result

    def _union(self, name: str, keep) -> np.ndarray:
        values = self._index.get(name)
        if not values:
            return _EMPTY
        lists = [self.get(name, v) for v in values if keep(v)]
        if not lists:
            return _EMPTY
        if len(lists) == 1:
            return lists[0]
        return np.unique(np.concatenate(lists))

