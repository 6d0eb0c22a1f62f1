import math

import pytest

from workshop.dashboards.units import axis_formatter, format_value


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.0015, "s", "1.5 ms"),
        (2.5e-7, "s", "250 ns"),
        (42, "s", "42 s"),
        (90, "s", "1.5 min"),
        (5 * 86400, "s", "5 day"),
        (250, "ms", "250 ms"),
        (2.3 * 1024**3, "bytes", "2.3 GiB"),
        (1500, "decbytes", "1.5 kB"),
        (3_490_000, "Bps", "3.49 MB/s"),
        (45, "percent", "45%"),
        (0.453, "percentunit", "45.3%"),
        (12.34, "reqps", "12.3 req/s"),
        (1234, "ops", "1.23 K ops/s"),
        (1_234_567, "short", "1.23 Mil"),
        (0, "short", "0"),
    ],
)
def test_values_are_formatted_with_the_units_suffix_and_scale(value, unit, text):
    assert format_value(value, unit) == text


def test_missing_and_infinite_values_are_named():
    assert format_value(math.nan, "s") == "No data"
    assert format_value(math.inf, "s") == "+Inf"


def test_explicit_decimals_are_kept():
    assert format_value(0.5, "percentunit", decimals=2) == "50.00%"


@pytest.mark.parametrize(
    ("unit", "locs", "labels"),
    [
        ("s", [0, 0.2, 0.4, 0.6], ["0 ms", "200 ms", "400 ms", "600 ms"]),
        ("bytes", [0, 2 * 1024**3, 4 * 1024**3], ["0 GiB", "2 GiB", "4 GiB"]),
        ("Bps", [3_490_500, 3_491_000, 3_491_500], ["3.4905 MB/s", "3.4910 MB/s", "3.4915 MB/s"]),
        ("percentunit", [0, 0.25, 0.5], ["0%", "25%", "50%"]),
    ],
)
def test_axis_ticks_share_one_suffix_and_enough_decimals_to_differ(unit, locs, labels):
    formatter = axis_formatter(unit)
    formatter.set_locs(locs)
    assert [formatter(v, i) for i, v in enumerate(locs)] == labels


@pytest.mark.parametrize(
    ("grafana", "matplotlib"),
    [
        ("green", "#73BF69"),
        ("dark-red", "#F2495C"),
        ("#112233", "#112233"),
        ("rgba(51, 102, 153, 0.5)", (0.2, 0.4, 0.6, 0.5)),
        ("no-such-colour", "#73BF69"),
    ],
)
def test_grafana_colour_forms_become_matplotlib_colours(grafana, matplotlib):
    from workshop.dashboards.panels import grafana_color

    assert grafana_color(grafana) == matplotlib
