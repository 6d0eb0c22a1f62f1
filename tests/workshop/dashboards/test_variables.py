import pytest

from workshop.dashboards.model import Variable
from workshop.dashboards.variables import (
    ALL,
    Intervals,
    interpolate,
    parse_label_values,
    regex_escape,
    resolve_variables,
    round_interval,
)


@pytest.mark.parametrize(
    ("raw", "nice"), [(14.4, 15), (0.9, 1), (86, 60), (345.6, 300), (3.2, 2), (4.0, 5), (40, 30)]
)
def test_intervals_round_to_grafanas_nice_steps(raw, nice):
    assert round_interval(raw) == nice


def test_interval_is_range_over_max_points_but_never_below_the_scrape_interval():
    one_hour = Intervals.for_range(3600, scrape_interval_s=15, max_data_points=250)
    assert one_hour.interval_s == 15  # 14.4 s rounds to 15 s
    five_minutes = Intervals.for_range(300, scrape_interval_s=5, max_data_points=250)
    assert five_minutes.interval_s == 5  # 1.2 s would be finer than the data
    day = Intervals.for_range(86400, scrape_interval_s=15, max_data_points=250)
    assert day.interval_s == 300


def test_rate_interval_is_interval_plus_scrape_or_four_scrapes_whichever_is_larger():
    assert Intervals.for_range(3600, 15).rate_interval_s == 60  # max(15 + 15, 60)
    assert Intervals.for_range(86400, 15).rate_interval_s == 315  # max(300 + 15, 60)


def test_builtin_scope_uses_prometheus_durations():
    scope = Intervals.for_range(86400, 15).scope()
    assert scope["__interval"] == "5m"
    assert scope["__rate_interval"] == "5m15s"
    assert scope["__range"] == "86400s"


def test_all_three_substitution_syntaxes_are_replaced_and_unknown_names_kept():
    scope = {"job": "node", "instance": "a:9100"}
    text = 'up{job="$job", instance="${instance}"} or up{job="[[job]]"} or $unknown'
    assert interpolate(text, scope) == 'up{job="node", instance="a:9100"} or up{job="node"} or $unknown'


def test_regex_escape_doubles_backslashes_for_the_promql_string():
    assert regex_escape("127.0.0.1:8080") == r"127\\.0\\.0\\.1:8080"


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        ("label_values(up, instance)", ("up", "instance")),
        ('label_values(up{job="x", a=~"b,c"}, instance)', ('up{job="x", a=~"b,c"}', "instance")),
        ("label_values(job)", (None, "job")),
    ],
)
def test_label_values_queries_are_parsed(query, parsed):
    assert parse_label_values(query) == parsed


def test_a_query_variable_that_is_not_label_values_is_rejected_with_the_query():
    with pytest.raises(ValueError, match=r"query_result\(up\)"):
        parse_label_values("query_result(up)")


class _Labels:
    """A data source answering label_values from a fixed table (records the matchers asked)."""

    def __init__(self):
        self.asked = []

    def label_values(self, label, match=None):
        self.asked.append((label, match))
        return {"job": ["node", "api"], "instance": ["a:1", "b:2"]}[label]


def test_multi_value_and_all_become_escaped_regex_alternatives_and_chain_into_later_queries():
    variables = [
        Variable("job", query="label_values(job)"),
        Variable("instance", query='label_values(up{job="$job"}, instance)', multi=True, include_all=True),
    ]
    source = _Labels()
    options, selected, scope = resolve_variables(variables, source, {"instance": [ALL]})
    assert options == {"job": ["api", "node"], "instance": ["a:1", "b:2"]}
    assert selected == {"job": ["api"], "instance": [ALL]}
    assert scope["job"] == "api"
    assert scope["instance"] == "(a:1|b:2)"
    assert source.asked[1] == ("instance", 'up{job="api"}')


def test_a_selection_no_longer_offered_falls_back_to_the_first_option():
    variables = [Variable("job", kind="custom", options=["x", "y"], current=["y"])]
    assert resolve_variables(variables, None, {"job": ["gone"]})[1] == {"job": ["x"]}
    assert resolve_variables(variables, None)[1] == {"job": ["y"]}
