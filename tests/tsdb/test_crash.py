"""A real crash: SIGKILL a writer process, reopen its directory, find every committed sample."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stack.model import Matcher
from stack.tsdb import DB

WRITER = Path(__file__).with_name("crash_writer.py")
SERIES = 20
BLOCK_RANGE_MS = 40_000  # a block every ~40 commits, so kills also hit cuts and checkpoints


@pytest.mark.parametrize("commits_before_kill", [37, 150, 333])
def test_sigkill_loses_no_committed_sample(tmp_path, commits_before_kill):
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen([sys.executable, str(WRITER), str(tmp_path), str(SERIES), str(BLOCK_RANGE_MS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    last = 0
    try:
        for _ in range(commits_before_kill):
            line = proc.stdout.readline()
            assert line, f"writer died early: {proc.stderr.read()}"
            last = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert last == commits_before_kill * 1000

    db = DB.open(tmp_path, block_range_ms=BLOCK_RANGE_MS)
    try:
        result = db.select([Matcher("=", "__name__", "crash_test")], 0, 2**62)
        assert len(result) == SERIES
        for sd in result:
            i = int(sd.labels.get("i"))
            committed = sd.t[sd.t <= last]
            assert committed.tolist() == list(range(1000, last + 1, 1000)), sd.labels
            assert np.array_equal(sd.v, sd.t + i)
    finally:
        db.close()
