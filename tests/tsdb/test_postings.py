"""Selectors against the label index: every matcher kind, and the empty-value rules."""

from __future__ import annotations

import pytest

from stack.model import Labels, Matcher
from stack.tsdb import Head
from stack.tsdb.postings import Postings

SERIES = [
    {"__name__": "http_requests_total", "job": "api", "code": "200"},
    {"__name__": "http_requests_total", "job": "api", "code": "500"},
    {"__name__": "http_requests_total", "job": "web", "code": "200"},
    {"__name__": "http_requests_total", "job": "web"},  # no code label
    {"__name__": "up", "job": "api"},
]


@pytest.fixture
def postings() -> Postings:
    p = Postings()
    for i, s in enumerate(SERIES):
        p.add(i, Labels(s))
    return p


def ids(p: Postings, *matchers: tuple[str, str, str]) -> list[int]:
    return p.select([Matcher(op, name, value) for name, op, value in matchers]).tolist()


def test_equal_matcher_selects_one_postings_list(postings):
    assert ids(postings, ("job", "=", "api")) == [0, 1, 4]


def test_matchers_intersect(postings):
    assert ids(postings, ("__name__", "=", "http_requests_total"), ("code", "=", "200")) == [0, 2]


def test_not_equal_also_selects_series_without_the_label(postings):
    assert ids(postings, ("__name__", "=", "http_requests_total"), ("code", "!=", "200")) == [1, 3]


def test_regex_is_fully_anchored_and_unions_values(postings):
    assert ids(postings, ("code", "=~", "2..|5..")) == [0, 1, 2]
    assert ids(postings, ("code", "=~", "0")) == []  # would match "200" unanchored


def test_regex_that_matches_empty_also_selects_series_without_the_label(postings):
    assert ids(postings, ("__name__", "=", "http_requests_total"), ("code", "=~", "500|")) == [1, 3]


def test_negative_regex(postings):
    assert ids(postings, ("__name__", "=", "http_requests_total"), ("code", "!~", "2..")) == [1, 3]
    # !~ that rejects the empty string selects only series that have the label
    assert ids(postings, ("code", "!~", "")) == [0, 1, 2]


def test_equal_empty_selects_series_lacking_the_label(postings):
    assert ids(postings, ("__name__", "=~", ".+"), ("code", "=", "")) == [3, 4]


def test_not_equal_empty_selects_series_having_the_label(postings):
    assert ids(postings, ("code", "!=", "")) == [0, 1, 2]


def test_unknown_label_or_value_selects_nothing(postings):
    assert ids(postings, ("nope", "=", "x")) == []
    assert ids(postings, ("job", "=", "nope")) == []


def test_only_negative_matchers_start_from_all_series(postings):
    assert ids(postings, ("job", "!=", "api")) == [2, 3]


def test_value_counts_per_label(postings):
    assert postings.value_counts()["code"] == {"200": 2, "500": 1}


def test_head_select_agrees_with_brute_force_for_every_matcher_kind():
    head = Head()
    app = head.appender()
    all_labels = [Labels({"__name__": f"m{i % 3}", "a": str(i % 5), "b": str(i % 7)} if i % 4 else
                         {"__name__": f"m{i % 3}", "a": str(i % 5)}) for i in range(60)]
    for ls in all_labels:
        app.append(ls, 1000, 1.0)
    app.commit()
    cases = [
        [Matcher("=", "a", "1")], [Matcher("!=", "b", "3")], [Matcher("=~", "b", "[1-3]|")],
        [Matcher("!~", "a", "0|4")], [Matcher("=~", "__name__", "m[01]"), Matcher("!=", "b", "")],
        [Matcher("=", "b", ""), Matcher("=", "__name__", "m2")],
    ]
    for matchers in cases:
        expected = sorted(ls for ls in set(all_labels) if all(m.matches(ls.get(m.name)) for m in matchers))
        assert head.series(matchers) == expected, matchers
        assert [sd.labels for sd in head.select(matchers, 0, 2000)] == expected
