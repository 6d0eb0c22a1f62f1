"""How samples are laid out in memory (head chunks) and on disk (block chunks).

Prometheus keeps the newest samples of each series in an open chunk and cuts a new chunk every
120 samples; closed chunks are immutable and compressed. We do the same with numpy so that reads
never loop over samples in Python:

* ``HeadChunk``: a closed chunk in the head. Scrapes arrive at a fixed interval, so timestamps are
  usually ``start + i * interval`` and are kept as those three numbers (0 bytes per sample);
  irregular ones as 32-bit deltas. Values stay raw float64 (8 bytes per sample) because the head is
  read on every query and decompressing would cost more than it saves.
* ``encode_series``/``decode_series``: the on-disk encoding of one series' samples in a block.
  Timestamps: regular -> (start, interval); otherwise zig-zagged delta-of-delta. Values: integral
  series (most counters and many gauges) as zig-zagged deltas of int64; series of decimals with few
  digits (``21.37``) the same after scaling by a power of ten, used only when dividing back gives
  the very same bits (the idea of ALP, Afroozeh et al. 2023); others as the XOR of each value's bits
  with the previous one's (Gorilla's idea, Pelkonen et al. 2015). Either way the
  integers are byte-shuffled (all low bytes first, then the next ones...) and zstd-compressed, so
  the many zero high bytes cost next to nothing, and everything is vectorised.
"""

from __future__ import annotations

import struct

import cramjam
import numpy as np

# Upstream cuts a head chunk every 120 samples (tsdb: samplesPerChunk = 120).
SAMPLES_PER_CHUNK = 120

ZSTD_LEVEL = 3

_T_REGULAR, _T_DOD = 0, 1
_V_XOR, _V_INT = 0, 1  # _V_INT + k (k = 1.._MAX_DECIMALS): integers scaled by 10**k
_MAX_DECIMALS = 6
_HEADER = struct.Struct("<BBIqqI")  # t encoding, v encoding, count, t0, interval, len(t payload)
_INT_SAFE = 2.0**53  # integers above this are not exactly representable as float64 anyway


class HeadChunk:
    """A closed, immutable head chunk: timestamps as (start, interval, count) or deltas, values raw."""

    __slots__ = ("mint", "maxt", "count", "_interval", "_deltas", "values")

    def __init__(self, t: np.ndarray, v: np.ndarray):
        self.count = len(t)
        self.mint = int(t[0])
        self.maxt = int(t[-1])
        self.values = np.array(v, dtype=np.float64)
        d = np.diff(t)
        self._interval = int(d[0]) if len(d) and (d == d[0]).all() else None
        self._deltas = None
        if self._interval is None and len(d):
            self._deltas = d.astype(np.int32) if d.max() < 2**31 else d.astype(np.int64)

    def timestamps(self) -> np.ndarray:
        if self._interval is not None:
            iv = self._interval
            return np.arange(self.mint, self.mint + self.count * iv, iv, dtype=np.int64)
        if self._deltas is None:
            return np.array([self.mint], dtype=np.int64)
        out = np.empty(self.count, dtype=np.int64)
        out[0] = self.mint
        np.cumsum(self._deltas, dtype=np.int64, out=out[1:])
        out[1:] += self.mint
        return out

    def range(self, mint: int, maxt: int) -> tuple[np.ndarray, np.ndarray]:
        """The samples with ``mint <= t <= maxt``: fresh timestamps, values as a view (immutable).

        For a regular chunk the bounds are index arithmetic and the timestamps one ``arange``, so
        a query that reads thousands of chunks pays a few numpy calls per chunk, no searching.
        """
        lo, hi = 0, self.count
        if self._interval is not None:
            iv = self._interval
            if mint > self.mint:
                lo = min(self.count, -((self.mint - mint) // iv))  # first index with t >= mint
            if maxt < self.maxt:
                hi = max(0, (maxt - self.mint) // iv + 1)  # one past the last index with t <= maxt
            if hi <= lo:
                return np.zeros(0, np.int64), self.values[:0]
            return np.arange(self.mint + lo * iv, self.mint + hi * iv, iv, dtype=np.int64), self.values[lo:hi]
        t = self.timestamps()
        if mint > self.mint:
            lo = int(t.searchsorted(mint, "left"))
        if maxt < self.maxt:
            hi = int(t.searchsorted(maxt, "right"))
        return t[lo:hi], self.values[lo:hi]

    @property
    def nbytes(self) -> int:
        """Bytes of sample data (arrays), for the memory figures of the benchmark and stats."""
        return self.values.nbytes + (0 if self._deltas is None else self._deltas.nbytes)


# --- block encoding ------------------------------------------------------------------------------

def encode_series(t: np.ndarray, v: np.ndarray) -> bytes:
    """Encode one series' samples (``t`` ascending int64 ms, ``v`` float64) for a block."""
    t = np.asarray(t, dtype=np.int64)
    v = np.asarray(v, dtype=np.float64)
    n = len(t)
    t0 = int(t[0]) if n else 0
    d = np.diff(t)
    if n < 2 or (d == d[0]).all():
        t_enc, interval, t_payload = _T_REGULAR, int(d[0]) if n >= 2 else 0, b""
    else:
        t_enc, interval = _T_DOD, int(d[0])
        t_payload = _pack_ints(np.diff(d))
    scale = _decimal_scale(v)
    if scale is not None:
        ints = np.round(v * 10.0**scale).astype(np.int64)
        v_enc, v_payload = _V_INT + scale, _pack_ints(np.diff(ints, prepend=np.int64(0)))
    else:
        bits = v.view(np.uint64)
        xored = np.bitwise_xor(bits, np.concatenate(([np.uint64(0)], bits[:-1])))
        v_enc, v_payload = _V_XOR, _pack(xored.view(np.int64))
    return _HEADER.pack(t_enc, v_enc, n, t0, interval, len(t_payload)) + t_payload + v_payload


def decode_series(buf) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`encode_series`."""
    t_enc, v_enc, n, t0, interval, t_len = _HEADER.unpack_from(buf, 0)
    pos = _HEADER.size
    if t_enc == _T_REGULAR:
        t = t0 + interval * np.arange(n, dtype=np.int64)
    else:
        dod = _unpack_ints(buf[pos : pos + t_len], n - 2)
        deltas = np.cumsum(np.concatenate(([interval], dod)), dtype=np.int64)
        t = np.concatenate(([t0], t0 + np.cumsum(deltas, dtype=np.int64)))
    payload = buf[pos + t_len :]
    if v_enc >= _V_INT:
        v = np.cumsum(_unpack_ints(payload, n), dtype=np.int64).astype(np.float64)
        if v_enc > _V_INT:
            v = v / 10.0 ** (v_enc - _V_INT)
    else:
        v = np.bitwise_xor.accumulate(_unpack(payload, n).view(np.uint64)).view(np.float64)
    return t.astype(np.int64, copy=False), v


def _decimal_scale(v: np.ndarray) -> int | None:
    """The smallest k such that ``round(v * 10**k) / 10**k`` gives back ``v`` bit for bit, if any.

    Tried on the first few values first, so that random floats fail fast.
    """
    if not len(v) or not (np.abs(v) < _INT_SAFE).all() or (np.signbit(v) & (v == 0)).any():
        return None  # NaN, infinities, huge values and -0.0 are no scaled integers
    probe = v[:16]
    for k in range(_MAX_DECIMALS + 1):
        if _scales_exactly(probe, k) and _scales_exactly(v, k):
            return k
    return None


def _scales_exactly(v: np.ndarray, k: int) -> bool:
    scaled = np.round(v * 10.0**k)
    if not (np.abs(scaled) < _INT_SAFE).all():
        return False  # cannot overflow: |v| < 2**53 and k <= 6
    back = scaled / 10.0**k if k else scaled
    return np.array_equal(back.view(np.uint64), v.view(np.uint64))


def _pack_ints(x: np.ndarray) -> bytes:
    x = x.astype(np.int64, copy=False)
    return _pack((x << 1) ^ (x >> 63))  # zig-zag: small negatives become small positives


def _unpack_ints(buf, n: int) -> np.ndarray:
    z = _unpack(buf, n).view(np.uint64)
    return ((z >> np.uint64(1)).view(np.int64)) ^ -((z & np.uint64(1)).view(np.int64))


def _pack(x: np.ndarray) -> bytes:
    shuffled = np.ascontiguousarray(x.view(np.uint8).reshape(-1, 8).T)
    return bytes(cramjam.zstd.compress(shuffled.tobytes(), level=ZSTD_LEVEL))


def _unpack(buf, n: int) -> np.ndarray:
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    raw = np.frombuffer(bytes(cramjam.zstd.decompress(bytes(buf))), dtype=np.uint8)
    return np.ascontiguousarray(raw.reshape(8, n).T).view(np.int64).ravel()
