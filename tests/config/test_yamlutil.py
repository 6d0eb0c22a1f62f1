import pytest

from stack.config import ConfigError, check_keys, format_duration_ms, load_yaml, parse_duration_ms


def test_unknown_key_error_names_file_and_line():
    doc = load_yaml("prometheus.yml", "scrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n")
    with pytest.raises(ConfigError) as e:
        check_keys(doc["scrape_configs"][0], ["job_name", "scrape_interval"], "scrape_config")
    assert str(e.value) == "prometheus.yml:3: field scrape_intervall not found in type scrape_config"


def test_yaml_syntax_error_names_line():
    with pytest.raises(ConfigError) as e:
        load_yaml("bad.yml", "global:\n  scrape_interval: [5s\n  x: 1\n")
    assert e.value.filename == "bad.yml" and e.value.line is not None and e.value.line >= 2


def test_duplicate_keys_are_rejected():
    with pytest.raises(ConfigError, match="bad.yml:2: duplicate key 'a'"):
        load_yaml("bad.yml", "a: 1\na: 2\n")


def test_safe_loading_refuses_python_objects():
    with pytest.raises(ConfigError):
        load_yaml("evil.yml", "a: !!python/object/apply:os.system ['true']\n")


def test_empty_document_is_an_empty_mapping():
    assert load_yaml("empty.yml", "") == {}


@pytest.mark.parametrize(
    "text,ms", [("0", 0), ("15s", 15_000), ("1h30m", 5_400_000), ("100ms", 100), ("1y", 31_536_000_000)]
)
def test_durations_parse_as_upstream(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "5", "5 m", "1m1h", "-5s", "1.5s"])
def test_bad_durations_are_errors(text):
    with pytest.raises(ValueError, match="not a valid duration string"):
        parse_duration_ms(text)


def test_durations_format_as_upstream():
    assert format_duration_ms(90_000) == "1m30s"
    assert format_duration_ms(0) == "0s"
