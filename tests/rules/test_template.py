"""Alert templates render as Prometheus renders them (expected strings from spec rules.md §7)."""

import pytest

from stack.rules.template import Template, expand
from stack.rules.template_funcs import QuerySample, TemplateError, go_float, runtime_functions

DATA = {
    "Labels": {"instance": "db-1.example.org:9100", "job": "node", "severity": "page"},
    "Value": 0.1234567,
    "ExternalLabels": {"cluster": "lab"},
    "ExternalURL": "http://prom.example:9090/prefix",
}


def render(text: str, value: float | None = None, **funcs) -> str:
    data = dict(DATA, Value=DATA["Value"] if value is None else value)
    return Template(text).execute(data, funcs or None)


@pytest.mark.parametrize(
    "template,expected",
    [
        ("{{ $labels.instance }} of {{ $labels.job }} is down", "db-1.example.org:9100 of node is down"),
        ("{{ .Labels.job }}/{{ $externalLabels.cluster }}", "node/lab"),
        ("[{{ $labels.nope }}]", "[]"),
        ("{{ $value | humanizePercentage }}", "12.35%"),
        ('{{ printf "%.2f" $value }}', "0.12"),
        ("{{ if gt $value 0.1 }}high{{ else }}low{{ end }}", "high"),
        ('{{ if eq $labels.severity "page" }}PAGE{{ else if eq 1 1 }}x{{ end }}', "PAGE"),
        (
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}",
            "instance=db-1.example.org:9100 job=node severity=page ",
        ),
        ("{{ with $labels.job }}job {{ . }}{{ end }}", "job node"),
        ("{{ $labels.instance | stripPort }}", "db-1.example.org"),
        ("{{ $labels.instance | stripDomain }}", "db-1:9100"),
        ('{{ $labels.job | toUpper }} {{ title "disk is full" }}', "NODE Disk Is Full"),
        ('a  {{- "b" -}}  c', "abc"),
        ("{{/* a comment */}}ok", "ok"),
        ('{{ reReplaceAll "(.*):(.*)" "$2" $labels.instance }}', "9100"),
        ('{{ if match "^db-" $labels.instance }}db{{ end }}', "db"),
        ("{{ $externalURL }}", "http://prom.example:9090/prefix"),
        ('{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" $labels.job }}', "[node]"),
    ],
)
def test_templates_render_like_prometheus(template, expected):
    assert render(template) == expected


@pytest.mark.parametrize(
    "func,arg,expected",
    [
        ("humanize", 1234567.0, "1.235M"),
        ("humanize", 0.12, "120m"),
        ("humanize", 1, "1"),
        ("humanize", -1, "-1"),
        ("humanize", 0.0, "0"),
        ("humanize1024", 1048576, "1Mi"),
        ("humanize1024", 1234567, "1.177Mi"),
        ("humanize1024", 0.12, "0.12"),
        ("humanizeDuration", 60, "1m 0s"),
        ("humanizeDuration", 3600, "1h 0m 0s"),
        ("humanizeDuration", 90000, "1d 1h 0m 0s"),
        ("humanizeDuration", 899.99, "14m 59s"),
        ("humanizeDuration", 1.2345, "1.234s"),
        ("humanizeDuration", 12.345, "12.35s"),
        ("humanizeDuration", 0.1, "100ms"),
        ("humanizeDuration", 0.0001, "100us"),
        ("humanizeDuration", 0.12345, "123.5ms"),
        ("humanizeDuration", -1, "-1s"),
        ("humanizeDuration", 0, "0s"),
        ("humanizePercentage", -0.22222, "-22.22%"),
        ("humanizePercentage", 0, "0%"),
        ("humanizeTimestamp", 0, "1970-01-01 00:00:00 +0000 UTC"),
        ("humanizeTimestamp", 1435065584.128, "2015-06-23 13:19:44.128 +0000 UTC"),
    ],
)
def test_humanize_functions_match_upstream_examples(func, arg, expected):
    assert render("{{ " + func + " $value }}", value=arg) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        (1234567.0, "1.234567e+06"),
        (0.00001, "1e-05"),
        (123456.0, "123456"),
        (0.5, "0.5"),
        (1.0, "1"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (-2.5e-7, "-2.5e-07"),
    ],
)
def test_value_prints_with_gos_default_float_format(value, expected):
    assert go_float(value) == expected
    assert render("{{ $value }}", value=value) == expected


def test_query_function_returns_samples_usable_with_first_and_value():
    seen = []

    def query(expr):
        seen.append(expr)
        return [QuerySample({"instance": "a"}, 3.0), QuerySample({"instance": "b"}, 4.0)]

    funcs = runtime_functions(query, now=1000.0)
    out = Template(
        '{{ with query "up == 0" }}{{ . | first | value }} on {{ (first .).Labels.instance }}'
        "{{ end }} at {{ now }}"
    ).execute(DATA, funcs)
    assert out == "3 on a at 1000"
    assert seen == ["up == 0"]  # `with` evaluates its pipeline once


@pytest.mark.parametrize(
    "template,message",
    [
        ("{{ nosuchfunc $value }}", 'function "nosuchfunc" not defined'),
        ("{{ if true }}unterminated", "unexpected EOF in if"),
        ("{{ end }}", "unexpected {{end}}"),
        ("text {{ .x", "unclosed action"),
    ],
)
def test_bad_templates_fail_at_parse_time_with_position(template, message):
    with pytest.raises(TemplateError, match=message) as e:
        Template(template, name="__alert_X")
    assert str(e.value).startswith("template: __alert_X:1:")


def test_execution_errors_render_as_upstreams_error_text():
    assert expand("{{ first $labels.none }}", DATA).startswith("<error expanding template: ")


def test_templates_cannot_reach_python_objects():
    # No attribute access on arbitrary values: __class__ and friends are not fields of a map.
    assert render("{{ $labels.__class__ }}") == ""
    with pytest.raises(TemplateError):
        Template("{{ .Value.__class__ }}").execute(DATA)
