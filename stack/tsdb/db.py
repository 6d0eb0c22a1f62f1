"""A TSDB directory: the head with its WAL, the persisted blocks, retention — behind one interface.

``DB.open(path)`` is what ``workshop prometheus --storage.tsdb.path=DIR`` uses. It loads the blocks,
replays the WAL into a fresh head, and from then on serves the same read methods as
:class:`~stack.tsdb.head.Head` (the PromQL engine and web API do not know which they talk to):
results from the blocks and the head are merged per series in time order.

Lifecycle, as upstream:

* when the head spans more than 1.5 block ranges, its oldest aligned 2 h range is written as a
  block; the head forgets those samples (and refuses new ones older than the block: "out of
  bounds"), and the WAL is checkpointed so it only holds what the head still has;
* blocks whose end is older than the newest block's end minus the retention are deleted whole.

Cutting runs synchronously right after a commit: deterministic in virtual time, and it only costs a
pause every 2 h of data. Compacting blocks into larger ones (upstream's levels) is not done.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from stack.clock import Clock, WallClock
from stack.model import Labels, Matcher
from stack.tsdb import wal as wal_mod
from stack.tsdb.block import Block, BlockError, list_blocks, write_block
from stack.tsdb.head import MAX_TIME, MIN_TIME, Appender, Head, SeriesData

log = logging.getLogger(__name__)

# Upstream --storage.tsdb.retention.time default (15d).
DEFAULT_RETENTION_MS = 15 * 24 * 3600 * 1000
# Upstream's block range (tsdb: DefaultBlockDuration = 2h); backfill aligns to it too.
BLOCK_RANGE_MS = 2 * 3600 * 1000
SNAPSHOTS_DIR = "snapshots"  # upstream: <data>/snapshots/<name>
LOCK_FILE = "lock"  # upstream: <data>/lock


class DB:
    """The storage of one Prometheus server: blocks on disk plus the head, read as one."""

    def __init__(self, path: Path, head: Head, retention_ms: int, clock: Clock, block_range_ms: int):
        self.path = path
        self.head = head
        self.retention_ms = retention_ms
        self.clock = clock
        self.block_range_ms = block_range_ms
        self.blocks: list[Block] = []
        self.wal: wal_mod.WAL | None = None
        self._lock_fd = -1

    @classmethod
    def open(cls, path: str | os.PathLike, retention_ms: int = DEFAULT_RETENTION_MS,
             clock: Clock | None = None, block_range_ms: int = BLOCK_RANGE_MS, fsync: bool = False) -> DB:
        """Open (or create) the TSDB directory ``path``: load blocks, replay the WAL, start logging."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        db = cls(p, Head(), retention_ms, clock or WallClock(), block_range_ms)
        db._lock_fd = _lock_directory(p)
        try:
            for leftover in p.glob("*.tmp"):  # a block write interrupted by a crash
                shutil.rmtree(leftover, ignore_errors=True)
            db.reload_blocks()
            # Samples already cut into a block must not come back from a WAL that outlived the cut.
            db.head.min_valid_time = max(
                (b.maxt for b in db.blocks if b.meta.get("workshop", {}).get("fromHead")), default=MIN_TIME)
            wal_mod.replay(p / "wal", db.head)
            db.wal = wal_mod.WAL(p / "wal", fsync=fsync)
            db.head.wal = db.wal
            db.head.after_commit = db.compact
            db.compact()
            db.apply_retention()
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        if self.wal is not None:
            self.wal.close()
            self.wal = None
            self.head.wal = None
        for b in self.blocks:
            b.close()
        self.blocks = []
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = -1

    def __enter__(self) -> DB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------------
    def appender(self) -> Appender:
        return self.head.appender()

    # --- reading (the Head interface, over blocks + head) ---------------------------------------
    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[SeriesData]:
        parts = [b.select(matchers, mint, maxt) for b in self.blocks if b.overlaps(mint, maxt)]
        parts.append(self.head.select(matchers, mint, maxt))
        return merge_series(parts)

    def series(self, matchers: Sequence[Matcher], mint: int | None = None, maxt: int | None = None):
        lo, hi = MIN_TIME if mint is None else mint, MAX_TIME if maxt is None else maxt
        found = set(self.head.series(matchers, mint, maxt))
        for b in self.blocks:
            if b.overlaps(lo, hi):
                found.update(b.series(matchers, lo, hi))
        return sorted(found)

    def label_names(self, matchers: Sequence[Matcher] = (), mint: int | None = None,
                    maxt: int | None = None) -> list[str]:
        return sorted({k for ls in self.series(matchers, mint, maxt) for k, _ in ls})

    def label_values(self, name: str, matchers: Sequence[Matcher] = (), mint: int | None = None,
                     maxt: int | None = None) -> list[str]:
        return sorted({ls.get(name) for ls in self.series(matchers, mint, maxt)} - {""})

    @property
    def num_series(self) -> int:
        return self.head.num_series

    def stats(self, limit: int = 10) -> dict:
        """``/api/v1/status/tsdb``: about the head, as upstream."""
        return self.head.stats(limit)

    def block_stats(self) -> list[dict]:
        """One entry per persisted block (status page, benchmarks)."""
        return [{"ulid": b.ulid, "minTime": b.mint, "maxTime": b.maxt, "numSamples": b.num_samples,
                 "numSeries": len(b.labels), "bytes": b.size_bytes} for b in self.blocks]

    def snapshot(self, skip_head: bool = False) -> str:
        """Admin API: hard-link every block (plus, unless ``skip_head``, a block of the head) into
        ``<path>/snapshots/<name>``, which is itself a TSDB directory; returns ``name``."""
        now = self.clock.now_ms()
        stamp = datetime.fromtimestamp(now / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{stamp}-{secrets.token_hex(8)}"  # upstream's snapshot name format
        target = self.path / SNAPSHOTS_DIR / name
        target.mkdir(parents=True)
        for b in self.blocks:
            (target / b.dir.name).mkdir()
            for f in b.dir.iterdir():
                os.link(f, target / b.dir.name / f.name)
        if not skip_head:
            with self.head._lock:
                data = [(s.labels, *s.range(MIN_TIME, MAX_TIME)) for s in self.head.all_series()]
                if any(len(t) for _, t, _ in data):
                    write_block(target, data, self.head.min_time, self.head.max_time + 1, now)
        return name

    # --- lifecycle ---------------------------------------------------------------------------------
    def reload_blocks(self) -> None:
        """(Re)read the block directories, e.g. after a backfill into a running server's path."""
        known = {b.dir: b for b in self.blocks}
        blocks = []
        for d in list_blocks(self.path):
            if d in known:
                blocks.append(known.pop(d))
                continue
            try:
                blocks.append(Block(d))
            except BlockError as e:
                log.warning("skipping block: %s", e)
        for gone in known.values():
            gone.close()
        self.blocks = sorted(blocks, key=lambda b: (b.mint, b.ulid))

    def compact(self) -> None:
        """Cut head ranges into blocks while the head spans more than 1.5 block ranges.

        Runs after every commit, so the check that usually finds nothing to do is two comparisons.
        """
        head, rng = self.head, self.block_range_ms
        cut = False
        while head.num_series and head.max_time - head.min_time > rng * 3 // 2:
            cut = True
            mint = head.min_time // rng * rng
            maxt = mint + rng
            with head._lock:
                data = [(s.labels, *s.range(mint, maxt - 1)) for s in head.all_series()]
                path = write_block(self.path, data, mint, maxt, self.clock.now_ms(), from_head=True)
                head.truncate(maxt)
                if self.wal is not None:
                    self.wal.checkpoint(head)
            # A new list rather than an in-place change: queries in other threads iterate the old one.
            self.blocks = sorted([*self.blocks, Block(path)], key=lambda b: (b.mint, b.ulid))
            log.info("cut block %s [%d, %d)", path.name, mint, maxt)
        if cut:
            self.apply_retention()

    def apply_retention(self) -> None:
        """Delete blocks ending more than the retention before the newest block's end (upstream)."""
        if not self.blocks or self.retention_ms <= 0:
            return
        newest = max(b.maxt for b in self.blocks)
        expired = [b for b in self.blocks if newest - b.maxt >= self.retention_ms]
        self.blocks = [b for b in self.blocks if b not in expired]
        for b in expired:
            log.info("retention: deleting block %s [%d, %d)", b.ulid, b.mint, b.maxt)
            b.delete()

    def delete_series(self, matchers: Sequence[Matcher], mint: int = MIN_TIME, maxt: int = MAX_TIME) -> None:
        """Admin API: remove the matching samples in ``[mint, maxt]`` from head and blocks.

        Upstream writes tombstones and rewrites blocks later (clean_tombstones); we rewrite the
        affected blocks at once, so deleted data also leaves the disk immediately.
        """
        self.head.delete_series(matchers, mint, maxt)
        for b in list(self.blocks):
            if not b.overlaps(mint, maxt) or not len(b.series(matchers, mint, maxt)):
                continue
            hit = set(b.series(matchers, MIN_TIME, MAX_TIME))
            data = []
            for labels, t, v in b.all_series():
                if labels in hit:
                    keep = (t < mint) | (t > maxt)
                    t, v = t[keep], v[keep]
                data.append((labels, t, v))
            from_head = bool(b.meta.get("workshop", {}).get("fromHead"))
            new = write_block(self.path, data, b.mint, b.maxt, self.clock.now_ms(), from_head=from_head)
            self.blocks = [Block(new) if x is b else x for x in self.blocks]
            b.delete()

    def clean_tombstones(self) -> None:
        """Admin API: nothing left to clean, :meth:`delete_series` already rewrote the blocks."""
        self.head.clean_tombstones()


class DirectoryLockedError(OSError):
    """Another DB (in this or another process) has the directory open."""


def _lock_directory(path: Path) -> int:
    """Take ``<path>/lock`` as upstream does, so two servers never write one WAL; the OS drops the
    lock when the process dies, even by ``kill -9``."""
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise DirectoryLockedError(f"{path} is in use by another process (lock {path / LOCK_FILE})") from None
    return fd


def merge_series(parts: list[list[SeriesData]]) -> list[SeriesData]:
    """Merge per-source results into one list sorted by labels, samples in time order.

    Sources are given oldest first (blocks, then the head); where two hold the same timestamp
    (overlapping backfilled blocks) the later source wins.
    """
    parts = [p for p in parts if p]
    if len(parts) == 1:
        return parts[0]
    by_labels: dict[Labels, list[SeriesData]] = {}
    for part in parts:
        for sd in part:
            by_labels.setdefault(sd.labels, []).append(sd)
    out = []
    for labels in sorted(by_labels):
        pieces = by_labels[labels]
        if len(pieces) == 1:
            out.append(pieces[0])
            continue
        t = np.concatenate([p.t for p in pieces])
        v = np.concatenate([p.v for p in pieces])
        if len(t) > 1 and not (np.diff(t) > 0).all():
            order = np.argsort(t, kind="stable")
            t, v = t[order], v[order]
            keep = np.append(np.diff(t) != 0, True)  # the last of equal timestamps: the newest source
            t, v = t[keep], v[keep]
        out.append(SeriesData(labels, t, v))
    return out
