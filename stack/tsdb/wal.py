"""The write-ahead log: every committed sample is on disk before ``commit()`` returns.

Why: the head lives in memory, so a crash would lose up to three hours of data. Like upstream, each
commit appends one or two records (new series, then samples) to the current segment file with a
single ``os.write``. The bytes are then in the OS page cache, which survives ``kill -9`` of the
process; ``fsync=True`` additionally survives a power cut, at the cost of a disk flush per commit.

Layout of ``<dir>/wal/`` (our own simple format, little-endian):

* segment files ``00000001``, ``00000002``... each a sequence of records; a new segment is started
  at open and when the current one would exceed ``SEGMENT_SIZE``;
* ``checkpoint.NNNNNNNN``: the head's content (series and samples) at the moment segments ``<= N``
  were deleted, written after a block was cut so that the log does not grow forever;
* a record is ``type u8 | length u32 | crc32(payload) u32 | payload`` with payloads
  ``SERIES``: repeated ``ref u64, n u16, n x (name, value)`` (strings as ``len u16 + UTF-8``);
  ``SAMPLES``: ``n u32, refs u64[n], t i64[n], v f64[n]``;
  ``TOMBSTONES``: ``n u32, mint i64, maxt i64, refs u64[n]``.

Replay reads the checkpoint, then the later segments in order. A record that is cut short or fails
its CRC (a crash in the middle of a write, a damaged disk) ends the log: the segment is truncated
there, later segments are removed, and a warning is logged. Every record before it is kept.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from stack.model import Labels

log = logging.getLogger(__name__)

# Upstream's default WAL segment size (tsdb/wlog: DefaultSegmentSize = 128 MiB).
SEGMENT_SIZE = 128 * 1024 * 1024

REC_SERIES, REC_SAMPLES, REC_TOMBSTONES = 1, 2, 3
_HEADER = struct.Struct("<BII")
_U16 = struct.Struct("<H")
_SERIES_HEAD = struct.Struct("<QH")
_SEGMENT_RE = re.compile(r"^\d{8}$")
_CHECKPOINT_RE = re.compile(r"^checkpoint\.(\d{8})$")


class WAL:
    """Appends records to numbered segment files in ``directory``."""

    def __init__(self, directory: str | os.PathLike, segment_size: int = SEGMENT_SIZE, fsync: bool = False):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_size = segment_size
        self.fsync = fsync
        for leftover in self.dir.glob("checkpoint.*.tmp"):  # a checkpoint interrupted by a crash
            leftover.unlink()
        segments = list_segments(self.dir)
        self._index = (segments[-1] if segments else 0) + 1
        self._fd = -1
        self._size = 0
        self._open_segment()

    # --- writing ---------------------------------------------------------------------------------
    def log(self, new_series, refs: list[int], ts: list[int], vs: list[float]) -> None:
        """One commit: the series it created and the samples it accepted, in one write."""
        data = b""
        if new_series:
            data += record(REC_SERIES, encode_series(new_series))
        if refs:
            data += record(REC_SAMPLES, encode_samples(refs, ts, vs))
        self._write(data)

    def log_tombstones(self, refs: list[int], mint: int, maxt: int) -> None:
        payload = struct.pack("<Iqq", len(refs), mint, maxt) + np.asarray(refs, dtype=np.uint64).tobytes()
        self._write(record(REC_TOMBSTONES, payload))

    def checkpoint(self, head) -> None:
        """Persist the head's content and delete the segments it covers (after a block cut)."""
        covered = self._index
        self._close_segment()
        tmp = self.dir / f"checkpoint.{covered:08d}.tmp"
        with open(tmp, "wb") as f:
            for s in head.all_series():
                t, v = s.range(-(2**63), 2**63 - 1)
                f.write(record(REC_SERIES, encode_series([s])))
                if len(t):
                    f.write(record(REC_SAMPLES, encode_samples(np.full(len(t), s.ref), t, v)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / f"checkpoint.{covered:08d}")
        for n in list_segments(self.dir):
            if n <= covered:
                (self.dir / f"{n:08d}").unlink()
        for path in self.dir.glob("checkpoint.*"):
            m = _CHECKPOINT_RE.match(path.name)
            if m and int(m.group(1)) < covered:
                path.unlink()
        self._index = covered + 1
        self._open_segment()

    def close(self) -> None:
        self._close_segment()

    def _write(self, data: bytes) -> None:
        if self._size and self._size + len(data) > self.segment_size:
            self._close_segment()
            self._index += 1
            self._open_segment()
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self._size += len(data)
        if self.fsync:
            os.fsync(self._fd)

    def _open_segment(self) -> None:
        self._fd = os.open(self.dir / f"{self._index:08d}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size

    def _close_segment(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# --- encoding --------------------------------------------------------------------------------------

def record(rtype: int, payload: bytes) -> bytes:
    return _HEADER.pack(rtype, len(payload), zlib.crc32(payload)) + payload


def encode_series(series) -> bytes:
    parts = []
    for s in series:
        parts.append(_SERIES_HEAD.pack(s.ref, len(s.labels)))
        for name, value in s.labels:
            for text in (name, value):
                b = text.encode()
                parts.append(_U16.pack(len(b)) + b)
    return b"".join(parts)


def encode_samples(refs, ts, vs) -> bytes:
    n = len(refs)
    return (struct.pack("<I", n) + np.asarray(refs, dtype=np.uint64).tobytes()
            + np.asarray(ts, dtype=np.int64).tobytes() + np.asarray(vs, dtype=np.float64).tobytes())


def _decode_series(p: memoryview) -> list[tuple[int, Labels]]:
    out, pos = [], 0
    while pos < len(p):
        ref, n = _SERIES_HEAD.unpack_from(p, pos)
        pos += _SERIES_HEAD.size
        texts = []
        for _ in range(2 * n):
            (ln,) = _U16.unpack_from(p, pos)
            texts.append(bytes(p[pos + 2 : pos + 2 + ln]).decode())
            pos += 2 + ln
        out.append((ref, Labels(zip(texts[::2], texts[1::2], strict=True))))
    return out


def _decode_samples(p: memoryview) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    (n,) = struct.unpack_from("<I", p, 0)
    refs = np.frombuffer(p, dtype=np.uint64, count=n, offset=4)
    t = np.frombuffer(p, dtype=np.int64, count=n, offset=4 + 8 * n)
    v = np.frombuffer(p, dtype=np.float64, count=n, offset=4 + 16 * n)
    return refs, t, v


# --- replay ----------------------------------------------------------------------------------------

def list_segments(directory: Path) -> list[int]:
    return sorted(int(p.name) for p in directory.iterdir() if _SEGMENT_RE.match(p.name))


def replay(directory: str | os.PathLike, head) -> int:
    """Load the checkpoint and segments of ``directory`` into ``head``; returns records read."""
    d = Path(directory)
    if not d.is_dir():
        return 0
    checkpoints = sorted(int(m.group(1)) for p in d.iterdir() if (m := _CHECKPOINT_RE.match(p.name)))
    start = 0
    files: list[Path] = []
    if checkpoints:
        start = checkpoints[-1]
        files.append(d / f"checkpoint.{start:08d}")
    files += [d / f"{n:08d}" for n in list_segments(d) if n > start]
    applier = _Applier(head)
    for i, path in enumerate(files):
        if not _replay_file(path, applier):
            for later in files[i + 1 :]:
                log.warning("WAL: removing segment %s after the corrupt one", later)
                later.unlink()
            break
    return applier.records


class _Applier:
    def __init__(self, head):
        self.head = head
        self.records = 0
        self.by_ref: dict[int, object] = {}
        self.counts: Counter = Counter()

    def apply(self, rtype: int, payload: memoryview) -> None:
        head = self.head
        with head._lock:
            if rtype == REC_SERIES:
                for ref, labels in _decode_series(payload):
                    s = head._by_labels.get(labels) or head._create(labels, ref)
                    self.by_ref[ref] = s
            elif rtype == REC_SAMPLES:
                refs, t, v = _decode_samples(payload)
                get = self.by_ref.get
                batch = [(s, tt, vv) for r, tt, vv in zip(refs.tolist(), t.tolist(), v.tolist(), strict=True)
                         if (s := get(r)) is not None]
                head._apply(batch, self.counts, None)
            elif rtype == REC_TOMBSTONES:
                n, mint, maxt = struct.unpack_from("<Iqq", payload, 0)
                refs = np.frombuffer(payload, dtype=np.uint64, count=n, offset=20)
                head.delete([self.by_ref[r].ref for r in refs.tolist() if r in self.by_ref], mint, maxt)
        self.records += 1


def _replay_file(path: Path, applier: _Applier) -> bool:
    """Apply every intact record of one file; on a torn/corrupt one truncate there, return False."""
    data = memoryview(path.read_bytes())
    pos = 0
    while pos < len(data):
        problem = None
        if pos + _HEADER.size > len(data):
            problem = "record header cut short"
        else:
            rtype, length, crc = _HEADER.unpack_from(data, pos)
            end = pos + _HEADER.size + length
            if rtype not in (REC_SERIES, REC_SAMPLES, REC_TOMBSTONES):
                problem = f"unknown record type {rtype}"
            elif end > len(data):
                problem = "record cut short"
            elif zlib.crc32(data[pos + _HEADER.size : end]) != crc:
                problem = "checksum mismatch"
        if problem:
            log.warning("WAL: %s in %s at byte %d; truncating the log there (%d bytes dropped)",
                        problem, path, pos, len(data) - pos)
            data.release()
            os.truncate(path, pos)
            return False
        applier.apply(rtype, data[pos + _HEADER.size : end])
        pos = end
    return True
