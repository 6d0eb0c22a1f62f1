"""``promtool tsdb create-blocks-from openmetrics``: validated input, aligned blocks, DB.open serves them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stack.model import Labels, Matcher
from stack.promtool.backfill import main
from stack.tsdb import BLOCK_RANGE_MS, DB
from stack.tsdb.block import list_blocks, read_meta

START = 1_700_000_000  # seconds; not aligned to 2 h, so the first block is partial
ALL = (-(2**62), 2**62)


def write_input(path: Path, hours: float = 5, step: int = 15) -> dict[Labels, tuple[list[int], list[float]]]:
    """An OpenMetrics file with a counter and a gauge; returns what it holds."""
    rng = np.random.default_rng(1)
    expected = {}
    lines = ["# HELP jobs_total Jobs done.", "# TYPE jobs_total counter"]
    times = START + step * np.arange(int(hours * 3600 / step))
    for worker in ("w1", "w2"):
        ls = Labels({"__name__": "jobs_total", "worker": worker})
        values = np.cumsum(rng.integers(0, 5, len(times))).astype(float)
        lines += [f'jobs_total{{worker="{worker}"}} {v:g} {t}' for t, v in zip(times, values, strict=True)]
        expected[ls] = ((times * 1000).tolist(), values.tolist())
    lines += ["# TYPE queue_depth gauge"]
    values = np.round(rng.normal(10, 2, len(times)), 2)
    lines += [f"queue_depth {float(v)!r} {t}" for t, v in zip(times, values, strict=True)]
    expected[Labels({"__name__": "queue_depth"})] = ((times * 1000).tolist(), values.tolist())
    path.write_text("\n".join(lines) + "\n# EOF\n")
    return expected


def dump(db: DB) -> dict[Labels, tuple[list[int], list[float]]]:
    everything = db.select([Matcher("=~", "__name__", ".+")], *ALL)
    return {sd.labels: (sd.t.tolist(), sd.v.tolist()) for sd in everything}


def test_backfilled_blocks_serve_exactly_the_input_samples(tmp_path, capsys):
    expected = write_input(tmp_path / "in.om")
    assert main([str(tmp_path / "in.om"), str(tmp_path / "data")]) == 0
    out = capsys.readouterr()
    assert "BLOCK ULID" in out.out and "parsing" in out.err  # table on stdout, progress on stderr
    with DB.open(tmp_path / "data") as db:
        assert dump(db) == expected
        assert db.label_values("worker") == ["w1", "w2"]


def test_blocks_are_aligned_to_the_2h_block_range(tmp_path):
    write_input(tmp_path / "in.om")
    assert main(["--quiet", str(tmp_path / "in.om"), str(tmp_path / "data")]) == 0
    metas = [read_meta(d) for d in list_blocks(tmp_path / "data")]
    assert len(metas) == 3  # 5 h starting mid-window touch three 2 h windows
    for meta in metas:
        assert meta["minTime"] // BLOCK_RANGE_MS == (meta["maxTime"] - 1) // BLOCK_RANGE_MS
    assert sum(m["stats"]["numSamples"] for m in metas) == 3 * 1200


def test_invalid_input_is_reported_with_file_and_line_and_nothing_is_written(tmp_path, capsys):
    bad = tmp_path / "bad.om"
    bad.write_text("# TYPE a gauge\na 1 1700000000\na oops 1700000015\n# EOF\n")
    assert main(["--quiet", str(bad), str(tmp_path / "data")]) == 1
    assert f"{bad}:3: invalid value 'oops'" in capsys.readouterr().err
    assert list_blocks(tmp_path / "data") == []


def test_missing_eof_is_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.om"
    bad.write_text("a 1 1700000000\n")
    assert main(["--quiet", str(bad), str(tmp_path / "data")]) == 1
    assert "must end with '# EOF'" in capsys.readouterr().err


def test_refuses_to_write_over_blocks_overlapping_the_input_unless_allowed(tmp_path, capsys):
    write_input(tmp_path / "in.om")
    data = tmp_path / "data"
    assert main(["--quiet", str(tmp_path / "in.om"), str(data)]) == 0
    assert main(["--quiet", str(tmp_path / "in.om"), str(data)]) == 1
    assert "pass --allow-overlapping-blocks" in capsys.readouterr().err
    assert len(list_blocks(data)) == 3
    assert main(["--quiet", "--allow-overlapping-blocks", str(tmp_path / "in.om"), str(data)]) == 0
    assert len(list_blocks(data)) == 6
    with DB.open(data) as db:  # overlapping copies of the same samples merge into one
        assert all(len(t) == 1200 for t, _ in dump(db).values())


def test_the_workshop_command_routes_to_backfill(tmp_path):
    write_input(tmp_path / "in.om", hours=1)
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "workshop.cli", "promtool", "tsdb", "create-blocks-from",
                           "openmetrics", str(tmp_path / "in.om"), str(tmp_path / "data")],
                          capture_output=True, text=True, cwd=repo, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(list_blocks(tmp_path / "data")) == 1


def test_unreadable_input_is_a_clear_error(tmp_path, capsys):
    assert main([str(tmp_path / "missing.om"), str(tmp_path / "data")]) == 1
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["# EOF\n", "# TYPE a gauge\n# EOF\n"])
def test_input_without_samples_is_an_error(tmp_path, capsys, content):
    (tmp_path / "in.om").write_text(content)
    assert main([str(tmp_path / "in.om"), str(tmp_path / "data")]) == 1
    assert "no samples" in capsys.readouterr().err
