"""The RED dashboard compared with a reviewed picture of it, within a tolerance.

Deterministic by construction: seeded synthetic data (``synthetic.toy_history``: the toy service's
metrics, independent of how its traffic model is tuned), a fixed absolute time range, a fixed size
and DPI, the Agg renderer and DejaVu Sans (shipped with matplotlib). After an intended change to
how dashboards look, regenerate the picture, look at it, and commit it::

    WORKSHOP_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/workshop/dashboards/test_golden.py
"""

import os
from pathlib import Path

import pytest
from matplotlib.testing.compare import compare_images

from tests.workshop.dashboards.synthetic import START, toy_history
from workshop.dashboards import TimeRange, render, save, shipped

GOLDEN = Path(__file__).parent / "golden" / "red.png"
TOLERANCE = 3.0  # RMS of the pixel difference (0-255) that still counts as the same picture
RANGE = TimeRange(START + 300, START + 600)  # the last five of its ten minutes
DPI = 60


@pytest.fixture(scope="module")
def history():
    return toy_history(seed=1)


def test_red_dashboard_matches_the_golden_image(history, tmp_path):
    fig = render(shipped("red"), history, RANGE, scrape_interval="5s", dpi=DPI)
    actual = save(fig, tmp_path / "red.png")
    if os.environ.get("WORKSHOP_UPDATE_GOLDEN"):
        GOLDEN.write_bytes(actual.read_bytes())
        pytest.skip(f"golden image rewritten: {GOLDEN}")
    difference = compare_images(str(GOLDEN), str(actual), tol=TOLERANCE)
    assert difference is None, difference


def test_a_changed_dashboard_does_not_match_the_golden_image(history, tmp_path):
    dashboard = shipped("red")
    dashboard.rows[1].panels[0].stack = True  # one panel drawn differently must be noticed
    actual = save(render(dashboard, history, RANGE, scrape_interval="5s", dpi=DPI), tmp_path / "changed.png")
    assert compare_images(str(GOLDEN), str(actual), tol=TOLERANCE) is not None
