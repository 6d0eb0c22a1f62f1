"""The remote-write 1.0 wire format: a snappy-compressed protobuf ``WriteRequest``, encoded by hand.

The message is tiny (prompb/remote.proto and types.proto)::

    WriteRequest { repeated TimeSeries timeseries = 1; ... metadata = 3 (ignored) }
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; exemplars = 3, histograms = 4 }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }

so a few dozen lines of varint/length-delimited encoding replace a protobuf toolchain and generated
code. Unknown fields are skipped when decoding, as protobuf requires, so writes from newer senders
(exemplars, histograms, metadata) are accepted and their float samples kept.

The body is snappy *block* format (not the framed/stream format), as the protocol specifies.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

import cramjam

from stack.model import Labels

# Headers every remote-write 1.0 request carries (remote write spec 1.0).
CONTENT_TYPE = "application/x-protobuf"
CONTENT_ENCODING = "snappy"
VERSION_HEADER = "X-Prometheus-Remote-Write-Version"
PROTOCOL_VERSION = "0.1.0"

_WIRE_VARINT, _WIRE_FIXED64, _WIRE_LEN, _WIRE_FIXED32 = 0, 1, 2, 5
_DOUBLE = struct.Struct("<d")


class DecodeError(ValueError):
    """A body that is not a snappy-compressed WriteRequest."""


TimeSeries = tuple[Labels, Sequence[tuple[int, float]]]


# --- encoding ---------------------------------------------------------------------------------

def encode_write_request(series: Iterable[TimeSeries]) -> bytes:
    """Protobuf bytes of a WriteRequest with the given (labels, [(t_ms, value), ...])."""
    out = bytearray()
    for labels, samples in series:
        ts = bytearray()
        for name, value in labels:
            _field_bytes(ts, 1, _field_bytes(bytearray(), 1, name.encode()) + _field_bytes(bytearray(), 2,
                                                                                             value.encode()))
        for t, v in samples:
            sample = bytearray(b"\x09") + _DOUBLE.pack(v)
            sample.append(0x10)
            _varint(sample, int(t) & 0xFFFFFFFFFFFFFFFF)
            _field_bytes(ts, 2, sample)
        _field_bytes(out, 1, ts)
    return bytes(out)


def compress(payload: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(payload))


def _varint(buf: bytearray, n: int) -> None:
    while n > 0x7F:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)


def _field_bytes(buf: bytearray, number: int, data: bytes | bytearray) -> bytearray:
    _varint(buf, (number << 3) | _WIRE_LEN)
    _varint(buf, len(data))
    buf += data
    return buf


# --- decoding ---------------------------------------------------------------------------------

def decompress(body: bytes) -> bytes:
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except Exception as e:  # noqa: BLE001 - cramjam raises its own error types
        raise DecodeError(f"snappy: corrupt input: {e}") from None


def decode_write_request(payload: bytes) -> list[tuple[Labels, list[tuple[int, float]]]]:
    """The float samples of every series in a WriteRequest."""
    out = []
    for number, value in _fields(payload):
        if number == 1:
            out.append(_decode_timeseries(value))
    return out


def _decode_timeseries(buf: bytes) -> tuple[Labels, list[tuple[int, float]]]:
    pairs, samples = [], []
    for number, value in _fields(buf):
        if number == 1:
            name = value_ = ""
            for n, v in _fields(value):
                if n == 1:
                    name = _utf8(v)
                elif n == 2:
                    value_ = _utf8(v)
            pairs.append((name, value_))
        elif number == 2:
            t, v = 0, 0.0
            for n, x in _fields(value):
                if n == 1:
                    v = _DOUBLE.unpack(x)[0] if isinstance(x, bytes) else 0.0
                elif n == 2:
                    t = x - (1 << 64) if x >= (1 << 63) else x
            samples.append((t, v))
    return Labels(pairs), samples


def _utf8(b) -> str:
    if not isinstance(b, bytes):
        raise DecodeError("label is not a string field")
    try:
        return b.decode()
    except UnicodeDecodeError:
        raise DecodeError("label is not valid UTF-8") from None


def _fields(buf: bytes):
    """Yield (field number, value): ints for varints, bytes for fixed64/32 and length-delimited."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _read_varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == _WIRE_VARINT:
            value, i = _read_varint(buf, i)
        elif wire == _WIRE_FIXED64:
            value, i = buf[i : i + 8], i + 8
        elif wire == _WIRE_LEN:
            size, i = _read_varint(buf, i)
            value, i = buf[i : i + size], i + size
        elif wire == _WIRE_FIXED32:
            value, i = buf[i : i + 4], i + 4
        else:
            raise DecodeError(f"unsupported protobuf wire type {wire} at byte {i}")
        if i > n:
            raise DecodeError("truncated protobuf message")
        yield number, value


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise DecodeError("truncated or overlong varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
