"""The backfill reader: values and labels as written, mistakes reported with their line number."""

from __future__ import annotations

import numpy as np
import pytest

from stack.model import Labels
from stack.tsdb.openmetrics import ParseError, check_order, parse, parse_file

GOOD = """\
# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
# UNIT http_requests_total requests
http_requests_total{code="200",path="/a b\\"c\\\\d\\n"} 10 1700000000
http_requests_total{code="200",path="/a b\\"c\\\\d\\n"} 12.5 1700000005.250
temperature -Inf 1700000000 # {trace_id="abc"} 1.0 1700000000
temperature{} NaN 1700000005
temperature +Inf 1700000010
# EOF
"""


def test_parses_values_timestamps_and_escaped_labels():
    s = parse(GOOD)
    assert s.series == [
        Labels({"__name__": "http_requests_total", "code": "200", "path": '/a b"c\\d\n'}),
        Labels({"__name__": "temperature"}),
    ]
    assert s.sid.tolist() == [0, 0, 1, 1, 1]
    assert s.t.tolist() == [1_700_000_000_000, 1_700_000_005_250, 1_700_000_000_000, 1_700_000_005_000,
                            1_700_000_010_000]
    assert s.v[:3].tolist() == [10.0, 12.5, -np.inf] and np.isnan(s.v[3]) and s.v[4] == np.inf
    assert s.line.tolist() == [4, 5, 6, 7, 8]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a 1 1\n", 2, "must end with '# EOF'"),
        ("a 1 1\n# EOF\nb 1 1\n", 3, "after '# EOF'"),
        ("a 1 1\n\na 2 2\n# EOF\n", 2, "empty line"),
        ("a 1 1\na 2\n# EOF\n", 2, "expected a timestamp"),
        ("a 1 1\na x 2\n# EOF\n", 2, "invalid value 'x'"),
        ("a 1 1\na 2 soon\n# EOF\n", 2, "invalid timestamp 'soon'"),
        ('a{b="1",b="2"} 1 1\n# EOF\n', 1, "duplicate label name 'b'"),
        ('a{b=1} 1 1\n# EOF\n', 1, "invalid label syntax at 'b=1'"),
        ('a 1 1 1\n# EOF\n', 1, "expected 'name{labels} value timestamp'"),
        ('a{b="1" 1 1\n# EOF\n', 1, "label set not closed"),
        ("# TYPE a countr\na 1 1\n# EOF\n", 1, "invalid metric type 'countr'"),
        ("# hello\n# EOF\n", 1, "expected '# HELP', '# TYPE', '# UNIT' or '# EOF'"),
        ("0abc 1 1\n# EOF\n", 1, "invalid metric name"),
    ],
)
def test_mistakes_name_the_line(text, line, message):
    with pytest.raises(ParseError) as e:
        parse(text)
    assert e.value.line == line
    assert message in str(e.value)
    assert str(e.value).startswith(f"line {line}: ")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a 1 10\nb 1 5\na 2 9\n# EOF\n", 3, "out of order sample"),
        ("a 1 10\na 2 10\n# EOF\n", 2, "duplicate sample for timestamp"),
        ("a 1 10\na 1 10\na NaN 10\n# EOF\n", 3, "duplicate sample for timestamp"),
    ],
)
def test_samples_of_a_series_must_be_in_time_order(text, line, message):
    with pytest.raises(ParseError) as e:
        check_order(parse(text))
    assert e.value.line == line and message in str(e.value)


def test_exact_repeats_are_dropped_silently_as_upstream():
    kept = check_order(parse("a 1 10\nb 5 10\na 1 10\na 2 11\n# EOF\n"))
    assert kept.t.tolist() == [10_000, 10_000, 11_000]
    assert kept.line.tolist() == [1, 2, 4]


@pytest.mark.parametrize("block_size", [1, 7, 64, 1 << 20])
def test_reading_a_file_in_blocks_gives_the_same_samples(tmp_path, block_size):
    path = tmp_path / "in.om"
    path.write_text(GOOD)
    whole, streamed = parse(GOOD), parse_file(path, block_size=block_size)
    assert streamed.series == whole.series
    for name in ("sid", "t", "line"):
        assert getattr(streamed, name).tolist() == getattr(whole, name).tolist()
    assert np.array_equal(streamed.v, whole.v, equal_nan=True)


@pytest.mark.parametrize("block_size", [1, 5, 1 << 20])
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a 1 1\n# EOF", 0, ""),  # no newline after '# EOF' is fine
        ("a 1 1\n# EOF\n\n", 3, "after '# EOF'"),
        ("a 1 1\n# EOF\nb", 3, "after '# EOF'"),
        ("a 1 1\na 2 2", 3, "must end with '# EOF'"),
        ("a 1 1\nb 2\n# EOF\n", 2, "expected a timestamp"),
    ],
)
def test_block_boundaries_do_not_change_what_is_accepted(tmp_path, block_size, text, line, message):
    path = tmp_path / "in.om"
    path.write_text(text)
    if not line:
        assert parse_file(path, block_size=block_size).t.tolist() == [1000]
        return
    with pytest.raises(ParseError) as e:
        parse_file(path, block_size=block_size)
    assert e.value.line == line and message in str(e.value)
