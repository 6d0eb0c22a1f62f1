"""The hand-written remote-write protobuf round-trips and refuses what is not a WriteRequest."""

from __future__ import annotations

import math

import pytest

from stack.model import STALE_NAN, Labels, is_stale_nan
from stack.remote.proto import DecodeError, compress, decode_write_request, decompress, encode_write_request


def test_series_round_trip_with_negative_timestamps_and_special_values():
    series = [(Labels({"__name__": "a", "job": "x"}), [(1714557600000, 1.5), (-5, -0.25)]),
              (Labels({"__name__": "b", "ü": "ÿ"}), [(0, math.inf), (1, STALE_NAN)])]
    out = decode_write_request(decompress(compress(encode_write_request(series))))
    assert out[0] == series[0]
    assert out[1][0] == series[1][0] and out[1][1][0] == (0, math.inf) and is_stale_nan(out[1][1][1][1])


def test_known_bytes_of_one_sample_match_the_protobuf_encoding():
    # TimeSeries{labels:[{name:"a", value:"b"}], samples:[{value:1, timestamp:2}]}
    raw = encode_write_request([(Labels({"a": "b"}), [(2, 1.0)])])
    assert raw == bytes.fromhex("0a15" "0a06" "0a0161" "120162" "120b" "09000000000000f03f" "1002")


def test_unknown_fields_are_skipped():
    extra_field = bytes.fromhex("1a0401020304")  # field 3 (metadata), 4 bytes
    raw = encode_write_request([(Labels({"__name__": "a"}), [(1, 2.0)])]) + extra_field
    assert decode_write_request(raw) == [(Labels({"__name__": "a"}), [(1, 2.0)])]


def test_truncated_or_non_snappy_bodies_are_decode_errors():
    raw = encode_write_request([(Labels({"__name__": "a"}), [(1, 2.0)])])
    with pytest.raises(DecodeError):
        decode_write_request(raw[:-3])
    with pytest.raises(DecodeError):
        decompress(b"\xff\xff\xff\xff not snappy")
