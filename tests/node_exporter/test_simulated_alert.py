"""The modelled disk makes the classic disk-full alert fire, judged by the real promtool rule engine.

Six and a half hours of the simulated host's ``node_filesystem_avail_bytes`` (one sample a minute)
are fed to ``promtool test rules`` with a ``predict_linear`` alert; it must be silent while more
than four hours of space are left and firing (after its ``for``) once fewer are.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from stack.clock import VirtualClock
from stack.exposition import collect_families
from stack.node_exporter import SimulatedHost
from tests.support import require_binary

pytestmark = pytest.mark.interop

GIB = 1024.0**3
RULES = {
    "groups": [
        {
            "name": "host",
            "rules": [
                {
                    "alert": "DiskWillFillIn4Hours",
                    "expr": 'predict_linear(node_filesystem_avail_bytes{mountpoint="/"}[1h], 4 * 3600) < 0',
                    "for": "5m",
                }
            ],
        }
    ],
}


def test_predict_linear_alert_fires_four_hours_before_the_simulated_disk_is_full(tmp_path):
    promtool = require_binary("promtool")
    clock = VirtualClock(start=1_000_000.0)  # see tests/pushgateway/test_store.py for the small epoch
    try:
        host = SimulatedHost(
            clock, seed=7, disk_size_bytes=100 * GIB, disk_used_fraction=0.5, disk_fill_bytes_per_hour=5 * GIB
        )
        hours_left = (host.disk_full_at() - clock.now()) / 3600
        assert hours_left == pytest.approx(9.5)  # 47.5 GiB available for non-root, 5 GiB/h
        values = []
        for _ in range(390):  # 6.5 h of 1-minute scrapes
            fam = next(f for f in collect_families(host) if f.name == "node_filesystem_avail_bytes")
            values.append(next(m.value for m in fam.metrics if m.labels["mountpoint"] == "/"))
            clock.advance(60)
    finally:
        clock.close()
    labels = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
    series = "node_filesystem_avail_bytes{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    # Prediction crosses zero when 4 h are left, i.e. at 5h30m; "for: 5m" makes it fire from ~5h35m.
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": series, "values": " ".join(repr(v) for v in values)}],
                "alert_rule_test": [
                    {"eval_time": "5h", "alertname": "DiskWillFillIn4Hours", "exp_alerts": []},
                    {"eval_time": "5h33m", "alertname": "DiskWillFillIn4Hours", "exp_alerts": []},
                    {
                        "eval_time": "5h40m",
                        "alertname": "DiskWillFillIn4Hours",
                        "exp_alerts": [{"exp_labels": labels}],
                    },
                    {
                        "eval_time": "6h20m",
                        "alertname": "DiskWillFillIn4Hours",
                        "exp_alerts": [{"exp_labels": labels}],
                    },
                ],
            }
        ],
    }
    (tmp_path / "rules.yml").write_text(json.dumps(RULES))
    (tmp_path / "tests.yml").write_text(json.dumps(tests))
    out = subprocess.run(
        [promtool, "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
