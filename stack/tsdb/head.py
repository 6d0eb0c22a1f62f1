"""The head block: the newest samples of every series, in memory, with a postings index.

Everything the scrape loop and the rule manager write lands here first, and most queries (the last
few hours) are answered from here alone. Each series keeps an open chunk in two preallocated numpy
arrays and a list of closed, compact :class:`~stack.tsdb.chunks.HeadChunk`\\ s, so appending is a
couple of array stores and reading a range is index arithmetic (samples evenly spaced, the usual
case for scrapes and rules) or a ``searchsorted``, then one ``concatenate``: never a loop over samples.

Writes go through an :class:`Appender`, as upstream: samples are buffered, then ``commit`` checks
them against each series' last sample (upstream's rules: an older timestamp is an "out of order
sample", the same timestamp with other value bits a "duplicate sample for timestamp", the same
timestamp and value is silently ignored), makes them visible, and — when the head belongs to a
:class:`~stack.tsdb.db.DB` — writes them to the write-ahead log before returning.

``Head`` also works alone, with no directory: simulations and the PromQL corpus use it that way.
"""

from __future__ import annotations

import bisect
import struct
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from stack.model import METRIC_NAME, Labels, Matcher
from stack.tsdb.chunks import SAMPLES_PER_CHUNK, HeadChunk
from stack.tsdb.postings import Postings

# Upstream's storage errors (storage/interface.go), which the scraper reports per sample.
ERR_OUT_OF_ORDER = "out of order sample"
ERR_DUPLICATE = "duplicate sample for timestamp"
ERR_OUT_OF_BOUNDS = "out of bounds"

MIN_TIME = -(2**63)
MAX_TIME = 2**63 - 1
_EMPTY_T = np.zeros(0, dtype=np.int64)
_EMPTY_V = np.zeros(0, dtype=np.float64)
_MAX_REMEMBERED_SELECTIONS = 1024  # distinct selectors whose matching series Head.select remembers


@dataclass(slots=True)
class SeriesData:
    """One series' samples in a time range: ``t`` int64 ms ascending, ``v`` float64.

    Stale markers are kept in ``v`` (the StaleNaN bit pattern) for the engine to interpret.
    """

    labels: Labels
    t: np.ndarray
    v: np.ndarray


class Selection(Sequence):
    """``Head.select``'s answer: the series' label sets (``labels``) and all their samples back to
    back in ``joined_t``/``joined_v``, series i being ``offsets[i]:offsets[i + 1]``.

    Its items are :class:`SeriesData` views made when asked for, so a reader that takes the whole
    block at once (the PromQL engine) pays nothing per series.
    """

    def __init__(self, labels: Sequence[Labels] = (), joined_t: np.ndarray = _EMPTY_T,
                 joined_v: np.ndarray = _EMPTY_V, bounds: Sequence[int] = (0,)):
        self.labels = list(labels)
        self.joined_t, self.joined_v = joined_t, joined_v
        self._bounds = list(bounds)
        self.offsets = np.array(self._bounds, np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        i = range(len(self))[i]  # negative indices; IndexError past the end
        a, b = self._bounds[i], self._bounds[i + 1]
        return SeriesData(self.labels[i], self.joined_t[a:b], self.joined_v[a:b])

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented


class MemSeries:
    """One series in the head: closed chunks plus the open chunk being filled."""

    __slots__ = ("ref", "labels", "chunks", "chunk_maxt", "t", "v", "n", "last_t", "last_v", "removed",
                 "t0", "step")

    def __init__(self, ref: int, labels: Labels):
        self.ref = ref
        self.labels = labels
        self.chunks: list[HeadChunk] = []
        self.chunk_maxt: list[int] = []  # parallel to chunks, for bisect
        self.t = np.empty(SAMPLES_PER_CHUNK, dtype=np.int64)
        self.v = np.empty(SAMPLES_PER_CHUNK, dtype=np.float64)
        self.n = 0
        self.last_t = MIN_TIME
        self.last_v = 0.0
        self.removed = False  # dropped from the head; an appender still holding it must look again
        # The open chunk's first timestamp, and its samples' spacing while it is regular (0: fewer
        # than two samples, -1: irregular), so that reads find a time range by arithmetic.
        self.t0 = MIN_TIME
        self.step = 0

    def cut(self) -> None:
        """Close the open chunk (it is full) and start a new one in the same arrays."""
        chunk = HeadChunk(self.t[: self.n], self.v[: self.n])
        self.chunks.append(chunk)
        self.chunk_maxt.append(chunk.maxt)
        self.n = 0

    def range(self, mint: int, maxt: int) -> tuple[np.ndarray, np.ndarray]:
        """Samples with ``mint <= t <= maxt`` as fresh arrays."""
        ts: list[np.ndarray] = []
        vs: list[np.ndarray] = []
        if not self.collect(mint, maxt, ts, vs):
            return _EMPTY_T, _EMPTY_V
        return np.concatenate(ts), np.concatenate(vs)  # concatenate copies, even for one array

    def collect(self, mint: int, maxt: int, ts: list, vs: list) -> int:
        """Append the pieces of ``[mint, maxt]`` to ``ts``/``vs``; return how many samples they hold.

        Each chunk trims itself to the range. The pieces may be views of the open chunk, whose
        arrays are reused after a cut: the caller copies them (``concatenate``) under the lock.
        """
        count = 0
        chunks = self.chunks
        if chunks and self.chunk_maxt[-1] >= mint:
            for i in range(bisect.bisect_left(self.chunk_maxt, mint), len(chunks)):
                c = chunks[i]
                if c.mint > maxt:
                    break
                t, v = c.range(mint, maxt)
                ts.append(t)
                vs.append(v)
                count += len(t)
        n, t0, last_t = self.n, self.t0, self.last_t
        if n and t0 <= maxt and last_t >= mint:
            step = self.step
            if step > 0:  # regular: index arithmetic, no search
                lo = 0 if t0 >= mint else -((t0 - mint) // step)
                hi = n if last_t <= maxt else (maxt - t0) // step + 1
            else:
                t = self.t[:n]
                lo = 0 if t0 >= mint else int(t.searchsorted(mint, "left"))
                hi = n if last_t <= maxt else int(t.searchsorted(maxt, "right"))
            if hi > lo:
                ts.append(self.t[lo:hi])
                vs.append(self.v[lo:hi])
                count += hi - lo
        return count

    @property
    def mint(self) -> int:
        if self.chunks:
            return self.chunks[0].mint
        return self.t0 if self.n else MAX_TIME

    @property
    def num_samples(self) -> int:
        return self.n + sum(c.count for c in self.chunks)

    @property
    def nbytes(self) -> int:
        return self.t.nbytes + self.v.nbytes + sum(c.nbytes for c in self.chunks)

    def reset(self, t: np.ndarray, v: np.ndarray) -> None:
        """Replace all samples (after a deletion or truncation), keeping ``last_t`` for order checks."""
        self.chunks, self.chunk_maxt, self.n = [], [], 0
        full = len(t) - len(t) % SAMPLES_PER_CHUNK
        for i in range(0, full, SAMPLES_PER_CHUNK):
            chunk = HeadChunk(t[i : i + SAMPLES_PER_CHUNK], v[i : i + SAMPLES_PER_CHUNK])
            self.chunks.append(chunk)
            self.chunk_maxt.append(chunk.maxt)
        rest = len(t) - full
        self.t[:rest], self.v[:rest], self.n = t[full:], v[full:], rest
        self.t0 = int(t[full]) if rest else MIN_TIME
        gaps = np.unique(np.diff(t[full:]))
        self.step = 0 if rest < 2 else int(gaps[0]) if len(gaps) == 1 else -1


class Head:
    """All series in memory. One lock makes commits and reads safe across threads.

    ``wal`` (optional) is a :class:`~stack.tsdb.wal.WAL` that every commit is logged to;
    ``after_commit`` (optional) is called after each commit, outside the lock (the DB uses it to
    cut blocks when the head spans enough time).
    """

    def __init__(self, wal=None, after_commit: Callable[[], None] | None = None):
        self._lock = threading.RLock()
        self._series: dict[int, MemSeries] = {}
        self._by_labels: dict[Labels, MemSeries] = {}
        self._postings = Postings()
        self._selections: dict[tuple[Matcher, ...], list[MemSeries]] = {}  # see _matching_sorted
        self._next_ref = 1
        self.wal = wal
        self.after_commit = after_commit
        self.min_valid_time = MIN_TIME  # older samples are already persisted in a block
        self.max_time = MIN_TIME
        self.min_time = MAX_TIME  # oldest sample in the head (kept up to date, the DB polls it per commit)

    # --- writing ---------------------------------------------------------------------------------
    def appender(self) -> Appender:
        return Appender(self)

    def _create(self, labels: Labels, ref: int | None = None) -> MemSeries:
        ref = self._next_ref if ref is None else ref
        self._next_ref = max(self._next_ref, ref + 1)
        s = MemSeries(ref, labels)
        self._series[ref] = s
        self._by_labels[labels] = s
        self._postings.add(ref, labels)
        self._selections.clear()
        return s

    def _apply(self, batch, counts: Counter, new_series: list[MemSeries] | None) -> tuple[list, list, list]:
        """Append ``(series or labels, t, v)`` in order; return the accepted refs, times and values.

        The one write path, shared by ``Appender.commit`` and WAL replay. Caller holds the lock.
        """
        refs, ts, vs = [], [], []
        min_valid = self.min_valid_time
        by_labels = self._by_labels
        for s, t, v in batch:
            if type(s) is not MemSeries or s.removed:
                labels = s if type(s) is not MemSeries else s.labels
                s = by_labels.get(labels)
                if s is None:
                    s = self._create(labels)
                    if new_series is not None:
                        new_series.append(s)
            last = s.last_t
            if t > last:
                if t < min_valid:
                    counts[ERR_OUT_OF_BOUNDS] += 1
                    continue
                n = s.n
                s.t[n] = t
                s.v[n] = v
                s.n = n + 1
                if n == 0:
                    s.t0, s.step = t, 0
                elif n == 1:
                    s.step = t - last
                elif t - last != s.step:
                    s.step = -1
                s.last_t, s.last_v = t, v
                if n + 1 == SAMPLES_PER_CHUNK:
                    s.cut()
                refs.append(s.ref)
                ts.append(t)
                vs.append(v)
            elif t == last:
                if not _same_bits(v, s.last_v):
                    counts[ERR_DUPLICATE] += 1
            else:
                counts[ERR_OUT_OF_ORDER] += 1
        if ts:
            self.max_time = max(self.max_time, max(ts))
            self.min_time = min(self.min_time, min(ts))
        return refs, ts, vs

    # --- reading ---------------------------------------------------------------------------------
    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[SeriesData]:
        """Series matching all ``matchers`` with their samples in ``[mint, maxt]`` (ms), by label set.

        All series' samples are copied into one pair of arrays with a single ``concatenate`` and
        handed out as consecutive slices of it: a query over thousands of series pays per series
        only for finding its chunks, and the engine can use the whole block without copying again.
        """
        ts: list[np.ndarray] = []
        vs: list[np.ndarray] = []
        labels, counts = [], []
        with self._lock:
            for s in self._matching_sorted(matchers):
                n = s.collect(mint, maxt, ts, vs)
                if n:
                    labels.append(s.labels)
                    counts.append(n)
            if not counts:
                return Selection()
            t_all, v_all = np.concatenate(ts), np.concatenate(vs)
        return Selection(labels, t_all, v_all, [0, *accumulate(counts)])

    def _matching_sorted(self, matchers: Sequence[Matcher]) -> list[MemSeries]:
        """The series matching ``matchers``, ordered by label set. Caller holds the lock.

        Remembered until the set of series changes: rule groups and dashboards ask the same
        selectors every few seconds, and the series of a running system rarely change.
        """
        key = tuple(matchers)
        found = self._selections.get(key)
        if found is None:
            if len(self._selections) >= _MAX_REMEMBERED_SELECTIONS:
                self._selections.clear()
            found = [self._series[sid] for sid in self._postings.select(matchers).tolist()]
            found.sort(key=lambda s: s.labels.pairs)  # tuple order, compared in C
            self._selections[key] = found
        return found

    def series(self, matchers: Sequence[Matcher], mint: int | None = None, maxt: int | None = None):
        """Label sets of the matching series; with a range, only those with a sample in it."""
        with self._lock:
            found = [self._series[int(sid)] for sid in self._postings.select(matchers)]
            if mint is not None or maxt is not None:
                lo, hi = MIN_TIME if mint is None else mint, MAX_TIME if maxt is None else maxt
                found = [s for s in found if s.n + len(s.chunks) and s.mint <= hi and s.last_t >= lo]
            return sorted(s.labels for s in found)

    def label_names(self, matchers: Sequence[Matcher] = (), mint: int | None = None,
                    maxt: int | None = None) -> list[str]:
        if not matchers and mint is None and maxt is None:
            with self._lock:
                return self._postings.names()
        return sorted({k for ls in self.series(matchers, mint, maxt) for k, _ in ls})

    def label_values(self, name: str, matchers: Sequence[Matcher] = (), mint: int | None = None,
                     maxt: int | None = None) -> list[str]:
        if not matchers and mint is None and maxt is None:
            with self._lock:
                return self._postings.values(name)
        return sorted({ls.get(name) for ls in self.series(matchers, mint, maxt)} - {""})

    @property
    def num_series(self) -> int:
        return len(self._series)

    def all_series(self) -> list[MemSeries]:
        with self._lock:
            return list(self._series.values())

    def stats(self, limit: int = 10) -> dict:
        """Exactly the ``data`` of upstream's ``/api/v1/status/tsdb`` (top ``limit`` of each list)."""
        with self._lock:
            series = list(self._series.values())
            counts = self._postings.value_counts()
            mint = self.min_time
        by_name = Counter(s.labels.get(METRIC_NAME) for s in series)
        pairs = Counter({f"{n}={v}": c for n, vals in counts.items() for v, c in vals.items()})
        top = lambda c: [{"name": k, "value": v} for k, v in c.most_common(limit)]  # noqa: E731
        return {
            "headStats": {
                "numSeries": len(series),
                "numLabelPairs": sum(len(v) for v in counts.values()),
                "chunkCount": sum(len(s.chunks) + (1 if s.n else 0) for s in series),
                "minTime": mint if series else 0,
                "maxTime": self.max_time if series else 0,
            },
            "seriesCountByMetricName": top(by_name),
            "labelValueCountByLabelName": top(Counter({n: len(v) for n, v in counts.items()})),
            "memoryInBytesByLabelName": top(
                Counter({n: sum(len(v) * c for v, c in vals.items()) for n, vals in counts.items()})),
            "seriesCountByLabelValuePair": top(pairs),
        }

    def sample_stats(self) -> dict:
        """How many samples the head holds and the bytes of their arrays (benchmarks, status page)."""
        series = self.all_series()
        return {"numSamples": sum(s.num_samples for s in series),
                "sampleBytes": sum(s.nbytes for s in series)}

    # --- removing data ---------------------------------------------------------------------------
    def truncate(self, mint: int) -> None:
        """Drop samples older than ``mint`` (they are in a block now) and series left empty."""
        with self._lock:
            self.min_valid_time = max(self.min_valid_time, mint)
            dead = []
            for s in self._series.values():
                if s.mint >= mint:
                    continue
                t, v = s.range(mint, MAX_TIME)
                s.reset(t, v)
                if not len(t):
                    dead.append(s)
            if dead:
                for s in dead:
                    s.removed = True
                    del self._series[s.ref]
                    del self._by_labels[s.labels]
                self._rebuild_postings()
            self._recompute_min_time()

    def delete(self, refs: Sequence[int], mint: int, maxt: int) -> None:
        """Remove the samples in ``[mint, maxt]`` of the given series (admin API delete_series)."""
        with self._lock:
            for ref in refs:
                s = self._series.get(int(ref))
                if s is None:
                    continue
                t, v = s.range(MIN_TIME, MAX_TIME)
                keep = (t < mint) | (t > maxt)
                if not keep.all():
                    s.reset(t[keep], v[keep])
            self._recompute_min_time()

    def delete_series(self, matchers: Sequence[Matcher], mint: int = MIN_TIME, maxt: int = MAX_TIME) -> None:
        """Admin API: remove the matching samples in ``[mint, maxt]`` (logged first, if there is a WAL)."""
        with self._lock:
            refs = self.matching_refs(matchers)
            if refs and self.wal is not None:
                self.wal.log_tombstones(refs, mint, maxt)
            self.delete(refs, mint, maxt)

    def clean_tombstones(self) -> None:
        """Admin API: nothing to do, deletions in the head take effect at once."""

    def matching_refs(self, matchers: Sequence[Matcher]) -> list[int]:
        with self._lock:
            return [int(r) for r in self._postings.select(matchers)]

    def _recompute_min_time(self) -> None:
        self.min_time = min((s.mint for s in self._series.values()), default=MAX_TIME)

    def _rebuild_postings(self) -> None:
        self._postings = Postings()
        self._selections.clear()
        for ref in sorted(self._series):
            self._postings.add(ref, self._series[ref].labels)


class Appender:
    """Buffers samples and makes them visible (and, with a WAL, durable) on ``commit``.

    ``append`` rejects at once what is already out of order against the committed data and returns
    False; what only turns out out of order within the batch is dropped at ``commit``. Either way
    the rejections are counted per error (``errors``, plus the ``out_of_order``/``duplicates``/
    ``out_of_bounds`` shortcuts) so that the scraper can report them.
    """

    def __init__(self, head: Head):
        self._head = head
        self._pending: list[tuple[object, int, float]] = []
        self.errors: Counter = Counter()

    def append(self, labels: Labels, t: int, v: float) -> bool:
        s = self._head._by_labels.get(labels)
        if s is not None and t <= s.last_t:
            if t < s.last_t:
                self.errors[ERR_OUT_OF_ORDER] += 1
                return False
            if not _same_bits(v, s.last_v):
                self.errors[ERR_DUPLICATE] += 1
                return False
        self._pending.append((labels if s is None else s, int(t), float(v)))
        return True

    def commit(self) -> None:
        head = self._head
        new_series: list[MemSeries] = []
        with head._lock:
            refs, ts, vs = head._apply(self._pending, self.errors, new_series)
            self._pending = []
            if head.wal is not None and (refs or new_series):
                head.wal.log(new_series, refs, ts, vs)
        if head.after_commit is not None:
            head.after_commit()

    def rollback(self) -> None:
        self._pending = []

    @property
    def out_of_order(self) -> int:
        return self.errors[ERR_OUT_OF_ORDER]

    @property
    def duplicates(self) -> int:
        return self.errors[ERR_DUPLICATE]

    @property
    def out_of_bounds(self) -> int:
        return self.errors[ERR_OUT_OF_BOUNDS]


_D = struct.Struct("<d")


def _same_bits(a: float, b: float) -> bool:
    """Compare floats by their bits, as upstream does (a stale marker is not an ordinary NaN)."""
    return _D.pack(a) == _D.pack(b)
