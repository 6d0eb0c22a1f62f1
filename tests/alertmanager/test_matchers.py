"""The matcher language of routes, inhibit rules, silences, API filters and amtool."""

from __future__ import annotations

import pytest

from stack.alertmanager.matchers import (
    MatcherParseError,
    matcher_from_api,
    matcher_to_api,
    matches,
    parse_matchers,
    render,
)
from stack.model import Labels


@pytest.mark.parametrize("text, rendered", [
    ('alertname="X"', ['alertname="X"']),
    ("alertname=X", ['alertname="X"']),
    ('severity=~"warn|crit"', ['severity=~"warn|crit"']),
    ("{a='b'}".replace("'", '"'), ['a="b"']),
    ('{a="b", c!=d, e!~"f.*"}', ['a="b"', 'c!="d"', 'e!~"f.*"']),
    ("a = b , c =~ d|e", ['a="b"', 'c=~"d|e"']),
    (r'msg="say \"hi\"\n"', [r'msg="say \"hi\"\n"']),
    ('a="x,y"', ['a="x,y"']),
    ("{}", []),
])
def test_new_matcher_syntax_forms_parse(text, rendered):
    assert [str(m) for m in parse_matchers(text)] == rendered


def test_quoted_values_unescape():
    (m,) = parse_matchers(r'a="x\"y\\z"')
    assert m.value == 'x"y\\z'


@pytest.mark.parametrize("text, where", [
    ('a="b', "unterminated quoted string at character 3"),
    ("=b", "expected a label name at character 1"),
    ("a b", "expected one of =, !=, =~, !~ at character 3"),
    ('{a="b"', "missing closing '}'"),
    ('a=~"("', "invalid regular expression"),
    ('a="b" c="d"', "unexpected 'c', expected ','"),
])
def test_malformed_matchers_name_the_character_position(text, where):
    with pytest.raises(MatcherParseError, match=where.replace("(", r"\(").replace("'", ".")):
        parse_matchers(text)


def test_regexes_are_anchored_and_missing_labels_read_as_empty():
    ms = parse_matchers('severity=~"warn"')
    assert matches(ms, Labels({"severity": "warn"}))
    assert not matches(ms, Labels({"severity": "warning"}))
    assert matches(parse_matchers('team=""'), Labels({"a": "b"}))
    assert matches(parse_matchers('team!~".+"'), Labels({"a": "b"}))
    assert not matches(parse_matchers('team!~".+"'), Labels({"team": "x"}))


def test_route_key_rendering_sorts_by_name_then_value_and_has_no_spaces():
    assert render(parse_matchers('b="2", a=~"x", a="x"')) == '{a="x",a=~"x",b="2"}'


@pytest.mark.parametrize("api, op", [
    ({"name": "a", "value": "b", "isRegex": False}, "="),
    ({"name": "a", "value": "b", "isRegex": False, "isEqual": False}, "!="),
    ({"name": "a", "value": "b", "isRegex": True, "isEqual": True}, "=~"),
    ({"name": "a", "value": "b", "isRegex": True, "isEqual": False}, "!~"),
])
def test_api_matcher_objects_map_to_operators_and_back(api, op):
    m = matcher_from_api(api)
    assert m.type == op
    assert matcher_from_api(matcher_to_api(m)) == m
