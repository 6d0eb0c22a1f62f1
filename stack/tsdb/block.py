"""Persisted blocks: immutable directories holding every series' samples for a time range.

Why blocks: the head keeps only the last few hours in memory. Every 2 h of data the oldest range is
written out as a block, compressed to a few bytes per sample, and retention later deletes whole
blocks — a directory removal, no rewriting. The backfill command writes the same blocks.

A block directory is named by a ULID (sortable by creation time, as upstream) and holds
(our own simple format, not upstream's):

* ``meta.json`` — the fields of upstream's block meta: ``ulid``, ``minTime``, ``maxTime`` (exclusive,
  as upstream), ``stats`` (``numSamples``, ``numSeries``, ``numChunks``), ``compaction``
  (``level``, ``sources``), ``version``; plus ``workshop`` (our format version, and ``fromHead``:
  cut from the head rather than backfilled);
* ``chunks`` — one :func:`~stack.tsdb.chunks.encode_series` payload per series, concatenated;
* ``index`` — zstd-compressed list of series, sorted by labels, each ``n u16, n x (name, value)``
  (strings ``len u16 + UTF-8``), ``offset u64, length u32, mint i64, maxt i64, count u32`` pointing
  into ``chunks``. It is small and loaded whole when the block is opened; the postings are rebuilt
  from it then.

Blocks are written to ``<ulid>.tmp`` and renamed into place, so a crash never leaves half a block.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import cramjam
import numpy as np

from stack.model import Labels, Matcher
from stack.tsdb.chunks import ZSTD_LEVEL, decode_series, encode_series
from stack.tsdb.head import SeriesData
from stack.tsdb.postings import Postings

FORMAT_VERSION = 1
_ENTRY = struct.Struct("<QIqqI")
_U16 = struct.Struct("<H")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class BlockError(Exception):
    """A block directory that cannot be read (not ours, or damaged)."""


def new_ulid(ms: int) -> str:
    """A ULID: 48-bit millisecond timestamp then 80 random bits, Crockford base32 (26 chars)."""
    n = (ms & (2**48 - 1)) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(26)))


def write_block(parent: str | os.PathLike, series: Iterable[tuple[Labels, np.ndarray, np.ndarray]],
                mint: int, maxt: int, now_ms: int, from_head: bool = False) -> Path:
    """Write the given series (``t`` within ``[mint, maxt)``) as one block under ``parent``."""
    parent = Path(parent)
    ulid = new_ulid(now_ms)
    tmp = parent / f"{ulid}.tmp"
    tmp.mkdir(parents=True)
    index_parts = []
    num_series = num_samples = offset = 0
    with open(tmp / "chunks", "wb") as chunks:
        for labels, t, v in sorted(series, key=lambda item: item[0]):
            if not len(t):
                continue
            payload = encode_series(t, v)
            chunks.write(payload)
            index_parts.append(_U16.pack(len(labels)))
            for name, value in labels:
                for text in (name, value):
                    b = text.encode()
                    index_parts.append(_U16.pack(len(b)) + b)
            index_parts.append(_ENTRY.pack(offset, len(payload), int(t[0]), int(t[-1]), len(t)))
            offset += len(payload)
            num_series += 1
            num_samples += len(t)
        chunks.flush()
        os.fsync(chunks.fileno())
    index = struct.pack("<I", num_series) + b"".join(index_parts)
    (tmp / "index").write_bytes(bytes(cramjam.zstd.compress(index, level=ZSTD_LEVEL)))
    meta = {
        "ulid": ulid,
        "minTime": int(mint),
        "maxTime": int(maxt),
        "stats": {"numSamples": num_samples, "numSeries": num_series, "numChunks": num_series},
        "compaction": {"level": 1, "sources": [ulid]},
        "version": 1,
        "workshop": {"format": FORMAT_VERSION, "fromHead": from_head},
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    final = parent / ulid
    os.replace(tmp, final)
    return final


def read_meta(directory: str | os.PathLike) -> dict:
    try:
        return json.loads((Path(directory) / "meta.json").read_text())
    except (OSError, ValueError) as e:
        raise BlockError(f"{directory}: unreadable meta.json: {e}") from None


class Block:
    """A block opened for reading: meta, the series index and postings in memory, chunks on disk."""

    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory)
        self.meta = read_meta(self.dir)
        if self.meta.get("workshop", {}).get("format") != FORMAT_VERSION:
            raise BlockError(f"{self.dir}: not a block in this kit's format (upstream blocks are not read)")
        self.ulid: str = self.meta["ulid"]
        self.mint: int = self.meta["minTime"]
        self.maxt: int = self.meta["maxTime"]  # exclusive
        self.labels: list[Labels] = []
        self._postings = Postings()
        try:
            self._load_index()
            self._fd = os.open(self.dir / "chunks", os.O_RDONLY)
        except (OSError, struct.error, cramjam.DecompressionError) as e:
            raise BlockError(f"{self.dir}: damaged index or chunks: {e}") from None

    def _load_index(self) -> None:
        raw = bytes(cramjam.zstd.decompress((self.dir / "index").read_bytes()))
        (n,) = struct.unpack_from("<I", raw, 0)
        pos = 4
        entries = np.zeros((n, 5), dtype=np.int64)
        for i in range(n):
            (nl,) = _U16.unpack_from(raw, pos)
            pos += 2
            texts = []
            for _ in range(2 * nl):
                (ln,) = _U16.unpack_from(raw, pos)
                texts.append(raw[pos + 2 : pos + 2 + ln].decode())
                pos += 2 + ln
            labels = Labels.from_sorted(tuple(zip(texts[::2], texts[1::2], strict=True)))
            self.labels.append(labels)
            self._postings.add(i, labels)
            entries[i] = _ENTRY.unpack_from(raw, pos)
            pos += _ENTRY.size
        self._offset, self._length, self._smint, self._smaxt, self._count = entries.T

    # --- reading ---------------------------------------------------------------------------------
    def overlaps(self, mint: int, maxt: int) -> bool:
        """Whether inclusive ``[mint, maxt]`` meets the block's ``[minTime, maxTime)``."""
        return mint < self.maxt and maxt >= self.mint

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[SeriesData]:
        ids = self._ids_in_range(matchers, mint, maxt)
        out = []
        for i in ids.tolist():
            t, v = self.read_series(i)
            lo, hi = np.searchsorted(t, mint, "left"), np.searchsorted(t, maxt, "right")
            if hi > lo:
                out.append(SeriesData(self.labels[i], t[lo:hi], v[lo:hi]))
        return out  # ids follow label order, as the index is sorted

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        return [self.labels[i] for i in self._ids_in_range(matchers, mint, maxt).tolist()]

    def read_series(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return decode_series(os.pread(self._fd, int(self._length[i]), int(self._offset[i])))

    def all_series(self) -> Iterable[tuple[Labels, np.ndarray, np.ndarray]]:
        for i, labels in enumerate(self.labels):
            yield (labels, *self.read_series(i))

    @property
    def num_samples(self) -> int:
        return int(self.meta["stats"]["numSamples"])

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.iterdir())

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def delete(self) -> None:
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _ids_in_range(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> np.ndarray:
        ids = self._postings.select(matchers)
        if len(ids):
            ids = ids[(self._smint[ids] <= maxt) & (self._smaxt[ids] >= mint)]
        return ids


def list_blocks(parent: str | os.PathLike) -> list[Path]:
    """Block directories under ``parent`` (those with a meta.json), oldest ULID first."""
    p = Path(parent)
    if not p.is_dir():
        return []
    return sorted(d for d in p.iterdir() if d.is_dir() and not d.name.endswith(".tmp")
                  and (d / "meta.json").is_file())
