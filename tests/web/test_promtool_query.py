"""``workshop promtool query`` prints what the real promtool prints, and both work against our API."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import require_binary
from tests.web.conftest import T0


def workshop_promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workshop.cli", "promtool", *args], capture_output=True,
                          text=True, timeout=60)


def test_instant_query_prints_series_value_and_time(served):
    out = workshop_promtool("query", "instant", served.url, 'up{job="node"}', "--time", str(T0))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f'up{{instance="localhost:9100", job="node"}} => 1 @[{T0}]\n'


def test_range_query_prints_each_series_then_its_points(served):
    out = workshop_promtool("query", "range", served.url, 'up{job="node"}', "--start", str(T0 - 30),
                            "--end", str(T0), "--step", "15s")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (f'up{{instance="localhost:9100", job="node"}} =>\n1 @[{T0 - 30}]\n1 @[{T0 - 15}]\n'
                          f"1 @[{T0}]\n")


def test_json_output_is_the_api_data(served):
    out = workshop_promtool("query", "instant", served.url, "1+1", "--time", "4", "-o", "json")
    assert out.stdout.strip() == '{"resultType": "scalar", "result": [4, "2"]}'


def test_a_bad_query_exits_1_with_the_server_message(served):
    out = workshop_promtool("query", "instant", served.url, "sum(")
    assert out.returncode == 1
    assert out.stderr.strip() == ('query error: bad_data: invalid parameter "query": 1:5: parse error: '
                                  "unclosed left parenthesis")


@pytest.mark.interop
def test_the_real_promtool_queries_our_server(served):
    promtool = require_binary("promtool")
    out = subprocess.run([promtool, "query", "instant", served.url, 'up{job="node"}', f"--time={T0}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    ours = workshop_promtool("query", "instant", served.url, 'up{job="node"}', "--time", str(T0))
    assert out.stdout == ours.stdout
