"""Time, duration and limit parameters are read as upstream reads them, with upstream's errors."""

from __future__ import annotations

import pytest
from multidict import MultiDict, MultiDictProxy

from stack.web.params import (
    ApiError,
    Params,
    duration_param,
    limit_param,
    optional_time_param,
    parse_time_ms,
    time_param,
)


def params(query=(), form=None) -> Params:
    return Params(MultiDictProxy(MultiDict(query)), MultiDict(form) if form is not None else None)


@pytest.mark.parametrize(("text", "ms"), [
    ("1714557600", 1714557600000), ("1714557600.5", 1714557600500), ("-1.5", -1500),
    ("1714557600.0004", 1714557600000), ("2024-05-01T10:00:00Z", 1714557600000),
    ("2024-05-01T12:00:00.5+02:00", 1714557600500),
])
def test_timestamps_are_unix_seconds_or_rfc3339(text, ms):
    assert parse_time_ms(text) == ms


@pytest.mark.parametrize("text", ["abc", "", "2024-05-01", "2024-05-01T10:00:00", "NaN", "inf"])
def test_other_time_text_is_refused(text):
    with pytest.raises(ValueError):
        parse_time_ms(text)


def test_required_and_optional_time_errors_name_the_parameter_as_upstream():
    with pytest.raises(ApiError) as e:
        time_param(params([("start", "abc")]), "start")
    assert e.value.message == 'invalid parameter "start": cannot parse "abc" to a valid timestamp'
    assert e.value.status == 400
    with pytest.raises(ApiError) as e:
        optional_time_param(params([("time", "x")]), "time", 0)
    assert e.value.message == ('invalid parameter "time": invalid time value for \'time\': '
                               'cannot parse "x" to a valid timestamp')
    assert optional_time_param(params(), "time", 42) == 42


@pytest.mark.parametrize(("text", "ms"), [("15", 15000), ("0.5", 500), ("15s", 15000), ("1m30s", 90000),
                                          ("1h", 3600000)])
def test_durations_are_seconds_or_prometheus_duration_strings(text, ms):
    assert duration_param(params([("step", text)]), "step") == ms


def test_a_bad_duration_names_the_parameter():
    with pytest.raises(ApiError) as e:
        duration_param(params([("step", "0.5m")]), "step")
    assert e.value.message == 'invalid parameter "step": cannot parse "0.5m" to a valid duration'


def test_limit_must_be_a_non_negative_integer():
    assert limit_param(params()) == 0
    assert limit_param(params([("limit", "5")])) == 5
    for bad in ("-1", "x", "1.5"):
        with pytest.raises(ApiError):
            limit_param(params([("limit", bad)]))


def test_form_body_wins_for_single_values_and_repeated_values_combine():
    p = params([("query", "url"), ("match[]", "a")], [("query", "body"), ("match[]", "b")])
    assert p.get("query") == "body"
    assert p.getall("match[]") == ["a", "b"]
