"""Backfill round trip against the real thing: Debian's promtool writes blocks, the real Prometheus
serves them, and its answers equal what our backfill of the same file gives — read through
``DB.open``, and served by ``workshop prometheus --storage.tsdb.path=DIR``."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from stack.model import Matcher
from stack.promtool.backfill import main as backfill_main
from stack.tsdb import DB
from stack.tsdb.block import list_blocks, read_meta
from tests.promtool.test_backfill import START, write_input
from tests.support import free_port, require_binary, wait_http

pytestmark = pytest.mark.interop

SELECTOR = '{__name__=~"jobs_total|queue_depth"}'
# Evaluation times (s): inside the first partial block, across a 2 h boundary, at the very end.
EVAL_TIMES = [START + 1800, START + 2 * 3600 + 1234, START + 5 * 3600 - 15]


def query_matrix(port: int, expr: str, at: float) -> dict[str, tuple[list[int], list[float]]]:
    qs = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{qs}", timeout=30) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    out = {}
    for series in body["data"]["result"]:
        labels = series["metric"]
        key = labels.pop("__name__") + json.dumps(labels, sort_keys=True)
        points = series["values"]
        out[key] = ([round(float(t) * 1000) for t, _ in points], [float(v) for _, v in points])
    return out


def block_spans(directory) -> list[tuple[int, int, int, int]]:
    metas = [read_meta(d) for d in list_blocks(directory)]
    return sorted((m["minTime"], m["maxTime"], m["stats"]["numSamples"], m["stats"]["numSeries"])
                  for m in metas)


def backfill_both(tmp_path) -> tuple:
    """The same OpenMetrics input backfilled by the real promtool and by ours: (real dir, our dir)."""
    promtool = require_binary("promtool")
    src = tmp_path / "in.om"
    write_input(src)
    real_dir, our_dir = tmp_path / "real", tmp_path / "ours"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(src), str(real_dir)],
                   check=True, capture_output=True, timeout=120)
    assert backfill_main(["--quiet", str(src), str(our_dir)]) == 0
    return real_dir, our_dir


def test_real_prometheus_serving_real_promtool_blocks_agrees_with_our_backfill(tmp_path):
    prometheus = require_binary("prometheus")
    real_dir, our_dir = backfill_both(tmp_path)
    # Same block boundaries as upstream: 2 h aligned windows, [first sample, last sample + 1 ms).
    assert block_spans(real_dir) == block_spans(our_dir) and len(block_spans(our_dir)) == 3

    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    port = free_port()
    proc = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={real_dir}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = DB.open(our_dir)
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60)
        matchers = [Matcher("=~", "__name__", "jobs_total|queue_depth")]
        for at in EVAL_TIMES:
            theirs = query_matrix(port, f"{SELECTOR}[1h]", at)
            at_ms = at * 1000
            # Prometheus 2.42's range selectors include both ends, like select()'s [mint, maxt].
            ours = {}
            for sd in db.select(matchers, at_ms - 3600_000, at_ms):
                labels = sd.labels.to_dict()
                key = labels.pop("__name__") + json.dumps(labels, sort_keys=True)
                ours[key] = (sd.t.tolist(), sd.v.tolist())
            assert sorted(ours) == sorted(theirs) and len(ours) == 3
            for key in ours:
                assert ours[key][0] == theirs[key][0], (at, key)
                np.testing.assert_array_equal(ours[key][1], theirs[key][1])
    finally:
        db.close()
        proc.kill()
        proc.wait()


def query_range(port: int, expr: str, start: float, end: float, step: int) -> dict[str, list[float]]:
    qs = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query_range?{qs}", timeout=30) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return {json.dumps(s["metric"], sort_keys=True): [(float(t), float(v)) for t, v in s["values"]]
            for s in body["data"]["result"]}


def test_our_server_serving_our_backfill_answers_like_the_real_pair(tmp_path):
    prometheus = require_binary("prometheus")
    real_dir, our_dir = backfill_both(tmp_path)
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    real_port, our_port = free_port(), free_port()
    repo = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={real_dir}",
                          f"--web.listen-address=127.0.0.1:{real_port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "workshop.cli", "prometheus", f"--config.file={config}",
                          f"--storage.tsdb.path={our_dir}", f"--web.listen-address=127.0.0.1:{our_port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=repo),
    ]
    try:
        for port in (real_port, our_port):
            wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60)
        # Only instant selectors: range selectors (so rate()) lost their left edge in 3.0, 2.42 has it.
        for expr in (SELECTOR, "sum without (worker) (jobs_total)"):
            args = (expr, START, START + 5 * 3600, 60)
            theirs, ours = query_range(real_port, *args), query_range(our_port, *args)
            assert sorted(ours) == sorted(theirs) and theirs, expr
            for key in theirs:
                assert [t for t, _ in ours[key]] == [t for t, _ in theirs[key]], (expr, key)
                np.testing.assert_allclose([v for _, v in ours[key]], [v for _, v in theirs[key]], rtol=1e-12)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_fractional_timestamps_become_the_same_milliseconds_as_with_the_real_promtool(tmp_path):
    promtool = require_binary("promtool")
    src = tmp_path / "in.om"
    stamps = ["1700000000.123", "1700000000.9999", "1700000001.0005", "1700000002.5", "1700000003.0019"]
    src.write_text("".join(f'x{{k="v"}} {i} {ts}\n' for i, ts in enumerate(stamps)) + "# EOF\n")
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(src), str(tmp_path / "real")],
                   check=True, capture_output=True, timeout=60)
    (tmp_path / "real" / "wal").mkdir()  # `promtool tsdb dump` wants one
    dump = subprocess.run([promtool, "tsdb", "dump", str(tmp_path / "real")], check=True, capture_output=True,
                          text=True, timeout=60).stdout.split("\n")
    theirs = [int(line.split()[-1]) for line in dump if line.startswith("{")]
    assert backfill_main(["--quiet", str(src), str(tmp_path / "ours")]) == 0
    with DB.open(tmp_path / "ours") as db:
        [sd] = db.select([Matcher("=", "k", "v")], 0, 2**62)
    assert sd.t.tolist() == theirs and len(theirs) == 5
