import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families as text_families

from stack.scrape.textparse import ParseError, Parser, _scan_series, _scan_series_slowly, parse_series

TEXT_CASES = {
    "simple": '# HELP x_total A counter.\n# TYPE x_total counter\nx_total 1\ny{a="b"} 2.5\n',
    "escapes": 'e{path="C:\\\\dir",q="say \\"hi\\"",nl="a\\nb"} 3\n',
    "special_values": "n NaN\np +Inf\nm -Inf\nz -0.5e-3\n",
    "timestamps": 't 1 1700000000123\nu{a="1"} 2 -5\n',
    "histogram": '# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 3\nh_sum 0.7\nh_count 3\n',
    "summary": '# TYPE s summary\ns{quantile="0.5"} 0.2\ns{quantile="0.99"} 0.9\ns_sum 5\ns_count 10\n',
    "spacing_and_trailing_comma": 'w { a = "1" , b="2", } 7\nv\t8\n',
    "created_lines": "# TYPE c counter\nc_total 3\nc_created 1.7e9\n",
    "blank_lines_and_comments": "\n# just a comment\nk 1\n\n",
}

OM_CASES = {
    "counter_with_created_and_eof": (
        "# TYPE c counter\n# HELP c Help.\nc_total 3\nc_created 1700000000.5\n# EOF\n"
    ),
    "timestamps_in_seconds": "g 1 1700000000.25\n# EOF\n",
    "exemplars_ignored": '# TYPE h histogram\nh_bucket{le="1"} 2 # {trace_id="abc"} 0.5 1700000000\n'
    'h_bucket{le="+Inf"} 3\nh_sum 1\nh_count 3\n# EOF\n',
    "unit_and_escapes": '# TYPE d_seconds gauge\n# UNIT d_seconds seconds\nd_seconds{x="a\\"b"} 1\n# EOF\n',
}


def ours(text: str, openmetrics: bool, parser: Parser | None = None):
    parser = parser or Parser()
    out = []
    for key, _, value, ts in parser.samples(text, openmetrics):
        name, pairs = parse_series(key)
        out.append((name, dict(pairs), value, ts))
    return out


def theirs(text: str, openmetrics: bool):
    families = om_families(text) if openmetrics else text_families(text)
    out = []
    for fam in families:
        for s in fam.samples:
            ts = s.timestamp
            if ts is not None:
                ts = int(round(float(ts) * 1000)) if openmetrics else int(round(float(ts) * 1000))
            out.append((s.name, dict(s.labels), s.value, ts))
    return out


def same(a, b):
    def norm(rows):
        return sorted((n, sorted(lbl.items()), "nan" if math.isnan(v) else v, t) for n, lbl, v, t in rows)

    return norm(a) == norm(b)


@pytest.mark.parametrize("name", sorted(TEXT_CASES))
def test_text_format_agrees_with_prometheus_client(name):
    text = TEXT_CASES[name]
    assert same(ours(text, False), theirs(text, False))


@pytest.mark.parametrize("name", sorted(OM_CASES))
def test_openmetrics_agrees_with_prometheus_client(name):
    text = OM_CASES[name]
    assert same(ours(text, True), theirs(text, True))


def test_second_parse_uses_the_cache_and_gives_the_same_samples():
    text = TEXT_CASES["escapes"] + TEXT_CASES["histogram"] + TEXT_CASES["timestamps"]
    p = Parser()
    first = list(p.samples(text))
    assert all(entry is None for _, entry, _, _ in first)
    p.known.update({key: [key] for key, _, _, _ in first})
    changed = text.replace(" 1\n", " 11\n")
    second = list(p.samples(changed))
    assert all(entry == [key] for key, entry, _, _ in second)
    uncached = [(k, v, t) for k, _, v, t in Parser().samples(changed)]
    assert [(k, v, t) for k, _, v, t in second] == uncached
    assert 11.0 in [v for _, v, _ in uncached]


def test_a_known_series_text_inside_a_label_value_is_not_mistaken_for_the_series():
    p = Parser(known={'a{x="}': 1, "a": 2, 'a{x="} 5"} 2 #': 3})
    rows = list(p.samples('a{x="} 5"} 2\n'))
    assert rows == [('a{x="} 5"}', None, 2.0, None)]
    assert parse_series(rows[0][0]) == ("a", (("x", "} 5"),))


def test_metadata_is_recorded_per_family():
    p = Parser()
    list(p.samples(OM_CASES["unit_and_escapes"], openmetrics=True))
    assert p.metadata == {"d_seconds": {"type": "gauge", "unit": "seconds"}}
    list(p.samples("# HELP x Line\\nbreak \\\\ here\n# TYPE x gauge\nx 1\n"))
    assert p.metadata == {"x": {"help": "Line\nbreak \\ here", "type": "gauge"}}


def test_remembered_comment_lines_are_still_checked_on_every_parse():
    p = Parser()
    good = "# HELP x Some help\n# TYPE x counter\nx_total 1\n"
    for _ in range(2):  # the second parse reads the comments from the parser's memory
        list(p.samples(good))
        assert p.metadata == {"x": {"help": "Some help", "type": "counter"}}
    twice = good + "# TYPE x counter\n"
    for _ in range(2):
        with pytest.raises(ParseError, match="second TYPE line") as e:
            list(p.samples(twice))
        assert e.value.line == 4
    with pytest.raises(ParseError, match="invalid metadata line"):  # the same line, another format
        list(p.samples("# TYPE\n# EOF\n", openmetrics=True))
    assert list(p.samples("# TYPE\n")) == []  # only a comment in the text format


@pytest.mark.parametrize(
    "text,line,message",
    [
        ("ok 1\nbad{ 2\n", 2, "invalid label name"),
        ("ok 1\n\nnovalue\n", 3, "expected a value"),
        ("x abc\n", 1, "invalid value 'abc'"),
        ('x{a="1",a="2"} 1\n', 1, "duplicate label name"),
        ('x{a="1} 1\n', 1, "unterminated value"),
        ("x 1 2 3\n", 1, "unexpected text"),
        ("x 1 notatime\n", 1, "invalid timestamp"),
        ("# TYPE x kaput\nx 1\n", 1, "unknown metric type"),
        ("1x 1\n", 1, "invalid metric name"),
        ("x 1_000\n", 1, "invalid value"),
        ("ok 1\nok 2 3 4\n", 2, "unexpected text"),
    ],
)
def test_malformed_text_names_the_line(text, line, message):
    with pytest.raises(ParseError) as e:
        list(Parser().samples(text))
    assert e.value.line == line
    assert message in str(e.value)
    assert str(e.value).startswith(f"text format parsing error in line {line}:")


def test_openmetrics_requires_eof_and_nothing_after_it():
    with pytest.raises(ParseError, match="does not end with # EOF"):
        list(Parser().samples("x 1\n", openmetrics=True))
    with pytest.raises(ParseError, match="line 3: unexpected content after # EOF"):
        list(Parser().samples("x 1\n# EOF\ny 2\n", openmetrics=True))


def test_stale_looking_nan_text_is_an_ordinary_nan():
    from stack.model import is_stale_nan

    ((_, _, v, _),) = Parser().samples("x NaN\n")
    assert math.isnan(v) and not is_stale_nan(v)


label_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), label_values, max_size=4),
       st.floats(allow_nan=False))
def test_any_label_values_round_trip_through_the_exposition(labels, value):
    from prometheus_client.utils import floatToGoString

    pairs_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    body = "m{" + pairs_text + "} " + floatToGoString(value) + "\n"
    (key, _, v, _), = Parser().samples(body)
    name, pairs = parse_series(key)
    assert name == "m" and dict(pairs) == labels and v == value
    assert _scan_series_slowly(key, 1) == _scan_series(key, 1)


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
