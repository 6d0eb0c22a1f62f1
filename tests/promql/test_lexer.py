"""The PromQL lexer: token boundaries, literal decoding and lexical errors, as Prometheus has them."""

from __future__ import annotations

import math

import pytest

from stack.promql.lexer import (
    DURATION,
    EOF,
    ERROR,
    IDENTIFIER,
    METRIC_IDENTIFIER,
    NUMBER,
    STRING,
    describe,
    lex,
    parse_duration,
    parse_number,
    unquote,
)


def kinds(query: str) -> list[tuple[str, str]]:
    return [(t.kind, t.val) for t in lex(query)]


def test_selector_with_matchers_splits_into_name_braces_labels_operators_and_strings():
    assert kinds('http_requests_total{job="api", code=~"5.."}') == [
        (IDENTIFIER, "http_requests_total"),
        ("{", "{"),
        (IDENTIFIER, "job"),
        ("=", "="),
        (STRING, '"api"'),
        (",", ","),
        (IDENTIFIER, "code"),
        ("=~", "=~"),
        (STRING, '"5.."'),
        ("}", "}"),
        (EOF, ""),
    ]


def test_token_positions_are_character_offsets():
    toks = lex('{"é"="x"} + 1')
    assert [(t.kind, t.pos) for t in toks] == [
        ("{", 0),
        (STRING, 1),
        ("=", 4),
        (STRING, 5),
        ("}", 8),
        ("+", 10),
        (NUMBER, 12),
        (EOF, 13),
    ]


def test_keywords_are_case_insensitive_but_keep_their_spelling():
    toks = lex("SUM BY (job) (x) OFFSET 5m")
    assert [(t.kind, t.val) for t in toks[:2]] == [("sum", "SUM"), ("by", "BY")]
    assert ("offset", "OFFSET") in [(t.kind, t.val) for t in toks]


def test_keywords_inside_braces_are_plain_label_names():
    assert kinds('{by="a", offset="b"}')[1] == (IDENTIFIER, "by")
    assert kinds('{by="a", offset="b"}')[5] == (IDENTIFIER, "offset")


def test_colons_make_a_metric_identifier():
    assert kinds("job:rate5m:sum")[0] == (METRIC_IDENTIFIER, "job:rate5m:sum")


def test_fill_is_a_keyword_only_before_a_parenthesis():
    assert kinds("fill + fill_left")[0] == (IDENTIFIER, "fill")
    assert kinds("fill (1)")[0] == ("fill", "fill")


@pytest.mark.parametrize(
    "text", ["1", "1.5", ".5", "5.", "1e3", "1E-3", "0x1F", "0755", "Inf", "nan", "1_000"]
)
def test_numbers_lex_as_one_number_token(text):
    assert kinds(text) == [(NUMBER, text), (EOF, "")]


@pytest.mark.parametrize("text", ["5m", "1h30m", "1y2w", "500ms", "1d12h"])
def test_durations_lex_as_one_duration_token(text):
    assert kinds(text) == [(DURATION, text), (EOF, "")]


def test_comments_run_to_the_end_of_the_line():
    assert kinds("# total\nup # trailing") == [(IDENTIFIER, "up"), (EOF, "")]


def test_range_brackets_switch_to_duration_lexing():
    assert kinds("x[5m:1m]") == [
        (IDENTIFIER, "x"),
        ("[", "["),
        (DURATION, "5m"),
        (":", ":"),
        (DURATION, "1m"),
        ("]", "]"),
        (EOF, ""),
    ]


@pytest.mark.parametrize(
    ("query", "pos", "msg"),
    [
        ("2.5.", 0, 'bad number or duration syntax: "2.5."'),
        ("100..4", 0, 'bad number or duration syntax: "100.."'),
        ("0deadbeef", 0, 'bad number or duration syntax: "0de"'),
        ("foo[5mm]", 4, 'bad number or duration syntax: "5mm"'),
        ("(1))", 4, "unexpected right parenthesis ')'"),
        ("((1)", 4, "unclosed left parenthesis"),
        ("foo[5m", 6, "unclosed left bracket"),
        ("some{", 5, "unexpected end of input inside braces"),
        ("}", 0, "unexpected character: '}'"),
        ('foo{a*"b"}', 5, "unexpected character inside braces: '*'"),
        ("1 =~ 1", 2, "unexpected character after '=': '~'"),
        ("1 !~ 1", 2, "unexpected character after '!': '~'"),
        ('foo["5m"]', 4, "unexpected character in duration expression: '\"'"),
        ("foo[5s x 5s]", 7, "unexpected character: 'x', expected ':'"),
        ('foo{bar="baz"}[', 15, "unexpected end of input in duration expression"),
        ('"abc', 0, "unterminated quoted string"),
        ("`abc", 0, "unterminated raw string"),
        ('"\\', 0, "escape sequence not terminated"),
        ('"\\c"', 0, "unknown escape sequence U+0063 'c'"),
        ('"\\x."', 0, "illegal character U+002E '.' in escape sequence"),
        ('"\\ud800"', 0, "escape sequence is an invalid Unicode code point"),
    ],
)
def test_lexical_errors_end_the_token_stream_with_upstreams_message(query, pos, msg):
    last = lex(query)[-1]
    assert (last.kind, last.pos, last.val) == (ERROR, pos, msg)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('"a\\nb"', "a\nb"),
        ("'it\\'s'", "it's"),
        ('"\\x41\\101\\u00e9\\U0001F600"', "AAé\U0001f600"),
        ('"\\a\\b\\f\\r\\t\\v\\\\"', "\a\b\f\r\t\v\\"),
        ("`raw \\n stays`", "raw \\n stays"),
        ('"é"', "é"),
    ],
)
def test_string_literals_decode_go_escapes(literal, value):
    assert unquote(literal) == value


def test_bytes_that_are_not_utf8_survive_as_surrogate_escapes():
    value = unquote('"a\\xc5z"')
    assert value.encode("utf-8", "surrogateescape") == b"a\xc5z"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0", 0),
        ("5m", 300_000),
        ("1h30m", 5_400_000),
        ("1y", 365 * 86_400_000),
        ("2w", 14 * 86_400_000),
        ("1d", 86_400_000),
        ("10s53ms", 10_053),
        ("1111111s", 1_111_111_000),
    ],
)
def test_durations_convert_to_milliseconds(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("5m1h", 'not a valid duration string: "5m1h"'),
        ("5m1m", 'not a valid duration string: "5m1m"'),
        ("5y1hs", 'unknown unit "hs" in duration "5y1hs"'),
        ("", "empty duration string"),
        ("300y", "duration out of range"),
    ],
)
def test_malformed_durations_are_refused_with_upstreams_message(text, msg):
    with pytest.raises(ValueError) as e:
        parse_duration(text)
    assert str(e.value) == msg


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0755", 493.0),
        ("0x1F", 31.0),
        ("09", 9.0),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("1_000", 1000.0),
        ("99999999999999999999", 1e20),
    ],
)
def test_numbers_parse_like_go_parseint_then_parsefloat(text, value):
    assert parse_number(text) == value


def test_inf_and_nan_parse_in_any_case():
    assert parse_number("iNf") == math.inf
    assert math.isnan(parse_number("NaN"))


def test_numbers_beyond_float_range_are_refused():
    with pytest.raises(ValueError, match="value out of range"):
        parse_number("1e999")


@pytest.mark.parametrize(
    ("query", "description"),
    [
        ("+", "<op:+>"),
        ("and", "<op:and>"),
        ("sum", "<aggr:sum>"),
        ("by", "<by>"),
        ("(", '"("'),
        ("foo", 'identifier "foo"'),
        ("a:b", 'metric identifier "a:b"'),
        ("5m", 'duration "5m"'),
        ('"a very long string"', 'string "\\"a very lo"...'),
        ("", "end of input"),
    ],
)
def test_tokens_are_described_in_messages_as_upstream_does(query, description):
    assert describe(lex(query)[0]) == description
