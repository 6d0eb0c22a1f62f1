"""Rule files load strictly, and every mistake names file and line (spec rules.md §1)."""

import pytest

from stack.config import ConfigError
from stack.rules.rulefile import load_rule_file


def load(tmp_path, text: str):
    path = tmp_path / "r.yml"
    path.write_text(text)
    return load_rule_file(path)


def test_a_valid_file_loads_with_defaults(tmp_path):
    (group,) = load(tmp_path, "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n")
    assert group.name == "g" and group.interval_ms is None and group.limit == 0
    (rule,) = group.rules
    assert rule.alert == "A" and rule.for_ms == 0 and rule.keep_firing_for_ms == 0


@pytest.mark.parametrize(
    "text,line,message",
    [
        ("groups:\n  - name: g\n    intervall: 1m\n    rules: []\n", 3, "field intervall not found"),
        (
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n",
            5,
            "could not parse expression",
        ),
        (
            "groups:\n  - name: g\n    rules:\n      - record: a\n        alert: b\n        expr: up\n",
            5,
            "only one of 'record' and 'alert'",
        ),
        (
            "groups:\n  - name: g\n    rules:\n      - record: 'bad name'\n        expr: up\n",
            4,
            "invalid recording rule name",
        ),
        (
            "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        for: 5m\n",
            6,
            "invalid field 'for' in recording rule",
        ),
        ("groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n", 4, "groupname must be unique"),
        (
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: 5 min\n",
            6,
            "not a valid duration",
        ),
        (
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n"
            "          summary: '{{ $labels.x'\n",
            7,
            "unclosed action",
        ),
        (
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n"
            "          __name__: x\n",
            7,
            "invalid label name",
        ),
    ],
)
def test_mistakes_are_reported_with_file_and_line(tmp_path, text, line, message):
    with pytest.raises(ConfigError) as e:
        load(tmp_path, text)
    assert e.value.filename.endswith("r.yml")
    assert e.value.line == line, str(e.value)
    assert message in str(e.value)


def test_an_empty_file_has_no_groups(tmp_path):
    assert load(tmp_path, "") == []
