import pytest

from stack.config.yamlutil import ConfigError, load_yaml
from stack.model import compile_anchored
from stack.scrape.relabel import RelabelConfig, expand, parse_relabel_configs, process


def rules(yaml_text: str):
    return parse_relabel_configs(load_yaml("relabel.yml", yaml_text))


# (rules yaml, input labels, expected output or None for "dropped")
CASES = {
    "replace_defaults_copy_source_to_target": (
        "- {source_labels: [a], target_label: b}",
        {"a": "x"},
        {"a": "x", "b": "x"},
    ),
    "replace_regex_is_fully_anchored": (
        "- {source_labels: [a], regex: foo, target_label: b, replacement: hit}",
        {"a": "foobar"},
        {"a": "foobar"},
    ),
    "replace_joins_sources_with_separator_and_missing_as_empty": (
        "- {source_labels: [a, b], target_label: c}",
        {"b": "x"},
        {"b": "x", "c": ";x"},
    ),
    "replace_custom_separator_and_groups": (
        "- {source_labels: [a, b], separator: '-', regex: '(.*)-(.*)', target_label: c, "
        "replacement: '${2}_${1}'}",
        {"a": "1", "b": "2"},
        {"a": "1", "b": "2", "c": "2_1"},
    ),
    "replace_with_empty_value_deletes_target": ("- {source_labels: [nope], target_label: a}", {"a": "x"}, {}),
    "replace_dollar_name_takes_longest_word": (
        "- {source_labels: [a], regex: '(.*)', target_label: b, replacement: '$1_suffix'}",
        {"a": "x"},
        {"a": "x"},
    ),
    "replace_no_match_is_noop": (
        "- {source_labels: [a], regex: 'y', target_label: b, replacement: z}",
        {"a": "x"},
        {"a": "x"},
    ),
    "replace_target_label_from_group": (
        "- {source_labels: [a], regex: '(.*)', target_label: 'tag_$1', replacement: 'v'}",
        {"a": "x"},
        {"a": "x", "tag_x": "v"},
    ),
    "replace_invalid_expanded_target_is_noop": (
        "- {source_labels: [a], regex: '(.*)', target_label: '${1}', replacement: 'v'}",
        {"a": "1x"},
        {"a": "1x"},
    ),
    "replace_address_to_host": (
        "- {source_labels: [__address__], regex: '([^:]+):\\d+', target_label: host, replacement: '${1}'}",
        {"__address__": "db1:9100"},
        {"__address__": "db1:9100", "host": "db1"},
    ),
    "keep_matching": ("- {source_labels: [a], regex: 'x|y', action: keep}", {"a": "y"}, {"a": "y"}),
    "keep_drops_non_matching": ("- {source_labels: [a], regex: 'x', action: keep}", {"a": "xx"}, None),
    "drop_matching": (
        "- {source_labels: [__name__], regex: 'go_gc_.*', action: drop}",
        {"__name__": "go_gc_duration_seconds"},
        None,
    ),
    "drop_action_is_case_insensitive": ("- {source_labels: [a], regex: x, action: DROP}", {"a": "x"}, None),
    "drop_keeps_non_matching": ("- {source_labels: [a], regex: x, action: drop}", {"a": "y"}, {"a": "y"}),
    "keepequal_keeps_equal": (
        "- {source_labels: [a], target_label: b, action: keepequal}",
        {"a": "1", "b": "1"},
        {"a": "1", "b": "1"},
    ),
    "keepequal_drops_different": (
        "- {source_labels: [a], target_label: b, action: keepequal}",
        {"a": "1", "b": "2"},
        None,
    ),
    "dropequal_drops_equal": (
        "- {source_labels: [a], target_label: b, action: dropequal}",
        {"a": "1", "b": "1"},
        None,
    ),
    "dropequal_keeps_different": (
        "- {source_labels: [a], target_label: b, action: dropequal}",
        {"a": "1", "b": "2"},
        {"a": "1", "b": "2"},
    ),
    "labelmap_copies_matching_names": (
        "- {action: labelmap, regex: '__meta_custom_label_(.+)'}",
        {"__meta_custom_label_team": "a", "x": "y"},
        {"__meta_custom_label_team": "a", "team": "a", "x": "y"},
    ),
    "labeldrop_removes_matching_names": (
        "- {action: labeldrop, regex: 'tmp_.*'}",
        {"tmp_a": "1", "tmp_b": "2", "keep": "3"},
        {"keep": "3"},
    ),
    "labelkeep_removes_other_names": (
        "- {action: labelkeep, regex: '__name__|job'}",
        {"__name__": "up", "job": "j", "instance": "i"},
        {"__name__": "up", "job": "j"},
    ),
    "lowercase": (
        "- {source_labels: [a], target_label: b, action: lowercase}",
        {"a": "AbC"},
        {"a": "AbC", "b": "abc"},
    ),
    "uppercase": (
        "- {source_labels: [a, c], target_label: b, action: uppercase}",
        {"a": "ab", "c": "x"},
        {"a": "ab", "b": "AB;X", "c": "x"},
    ),
    "rules_apply_in_order_and_stop_at_drop": (
        "- {source_labels: [a], target_label: b}\n- {source_labels: [b], regex: x, action: drop}\n"
        "- {source_labels: [a], target_label: c}",
        {"a": "x"},
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_relabel_action_semantics(name):
    text, labels, expected = CASES[name]
    assert process(labels, rules(text)) == expected


@pytest.mark.parametrize("value,expected", [("baz", "976"), ("foo\nbar", "734")])
def test_hashmod_matches_upstream_values(value, expected):
    # Expected values are the ones in upstream's model/relabel tests (MD5, low 8 bytes big-endian).
    out = process(
        {"c": value}, rules("- {source_labels: [c], action: hashmod, modulus: 1000, target_label: d}")
    )
    assert out["d"] == expected


def test_sharding_example_keeps_only_one_shard():
    r = rules(
        "- {source_labels: [__address__], action: hashmod, modulus: 3, target_label: __tmp_shard}\n"
        "- {source_labels: [__tmp_shard], regex: '1', action: keep}"
    )
    kept = [a for a in (f"h{i}:80" for i in range(30)) if process({"__address__": a}, r) is not None]
    assert 0 < len(kept) < 30


@pytest.mark.parametrize(
    "template,expected",
    [
        ("$1", "a"),
        ("${1}", "a"),
        ("${1}x", "ax"),
        ("$1x", ""),
        ("$name", "b"),
        ("${name}-", "b-"),
        ("$$1", "$1"),
        ("$9", ""),
        ("$", "$"),
        ("a$!", "a$!"),
        ("${bad", "${bad"),
        ("plain", "plain"),
    ],
)
def test_expand_follows_go_template_rules(template, expected):
    m = compile_anchored("(a)(?P<name>b)").match("ab")
    assert expand(template, m) == expected


def test_defaults_are_upstream_defaults():
    r = RelabelConfig(target_label="x")
    assert (r.action, r.separator, r.regex, r.replacement, r.modulus, r.source_labels) == (
        "replace",
        ";",
        "(.*)",
        "$1",
        0,
        (),
    )


@pytest.mark.parametrize(
    "text,message",
    [
        ("- {action: hashmod, target_label: x}", "requires non-zero modulus"),
        ("- {source_labels: [a]}", "requires 'target_label' value"),
        (
            "- {action: keepequal, source_labels: [a], target_label: b, regex: x}",
            "requires only 'source_labels'",
        ),
        ("- {action: labeldrop, regex: x, source_labels: [a]}", "labeldrop action requires only 'regex'"),
        (
            "- {action: lowercase, source_labels: [a], target_label: b, replacement: x}",
            "'replacement' can not be set",
        ),
        ("- {action: frobnicate}", 'unknown relabel action "frobnicate"'),
        ("- {source_labels: [a], target_label: 'not-valid'}", "invalid 'target_label'"),
        ("- {source_labels: [a], target_label: b, regex: '(unclosed'}", "invalid regular expression"),
        (
            "- {source_labels: [a], target_label: b, regexx: x}",
            "field regexx not found in type relabel_config",
        ),
    ],
)
def test_invalid_rules_are_config_errors_with_line(text, message):
    with pytest.raises(ConfigError) as e:
        rules("# comment\n" + text)
    assert message in str(e.value)
    assert str(e.value).startswith("relabel.yml:2:")
