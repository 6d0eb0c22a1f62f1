"""WAL replay: reopening finds every committed sample; torn or corrupt tails are cut, with a warning."""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path

import pytest

from stack.model import Labels, Matcher
from stack.tsdb import DB
from stack.tsdb.wal import WAL, list_segments

CPU = [Labels({"__name__": "cpu", "core": str(i)}) for i in range(3)]
ALL = (-(2**62), 2**62)


def samples_of(db: DB) -> dict[str, list[tuple[int, float]]]:
    return {sd.labels.get("core"): list(zip(sd.t.tolist(), sd.v.tolist(), strict=True))
            for sd in db.select([Matcher("=", "__name__", "cpu")], *ALL)}


def commit_batch(db: DB, t: int) -> None:
    app = db.appender()
    for i, ls in enumerate(CPU):
        app.append(ls, t, t / 1000 + i)
    app.commit()


def segment_path(directory: Path) -> Path:
    wal_dir = directory / "wal"
    return wal_dir / f"{list_segments(wal_dir)[-1]:08d}"


def test_reopen_replays_every_committed_sample(tmp_path):
    db = DB.open(tmp_path)
    for t in range(1000, 21_000, 1000):
        commit_batch(db, t)
    before = samples_of(db)
    db.close()
    db = DB.open(tmp_path)
    assert samples_of(db) == before
    assert len(before["2"]) == 20
    db.close()


def test_uncommitted_and_rolled_back_samples_are_not_replayed(tmp_path):
    db = DB.open(tmp_path)
    commit_batch(db, 1000)
    app = db.appender()
    app.append(CPU[0], 2000, 9.0)
    app.rollback()
    app = db.appender()
    app.append(CPU[0], 3000, 9.0)  # never committed
    db.close()
    db = DB.open(tmp_path)
    assert samples_of(db)["0"] == [(1000, 1.0)]
    db.close()


def test_a_copy_taken_while_writing_holds_everything_committed_so_far(tmp_path):
    db = DB.open(tmp_path / "live")
    for t in range(1000, 11_000, 1000):
        commit_batch(db, t)
    shutil.copytree(tmp_path / "live", tmp_path / "copy")
    expected = samples_of(db)
    for t in range(11_000, 15_000, 1000):
        commit_batch(db, t)
    db.close()
    copy = DB.open(tmp_path / "copy")
    assert samples_of(copy) == expected
    copy.close()


def test_torn_tail_at_random_offsets_keeps_every_complete_record_and_warns(tmp_path, caplog):
    src = tmp_path / "src"
    db = DB.open(src)
    ends = []  # segment size after each commit = where each complete record ends
    for t in range(1000, 41_000, 1000):
        commit_batch(db, t)
        ends.append(segment_path(src).stat().st_size)
    db.close()
    size = ends[-1]
    rng = random.Random(3)
    for cut in sorted(rng.sample(range(1, size), 25)) + [ends[10], ends[10] + 1]:
        copy = tmp_path / f"cut{cut}"
        shutil.copytree(src, copy)
        with open(segment_path(copy), "r+b") as f:
            f.truncate(cut)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="stack.tsdb.wal"):
            reopened = DB.open(copy)
        complete = sum(1 for e in ends if e <= cut)
        got = samples_of(reopened)
        assert [t for t, _ in got.get("0", [])] == [1000 * (i + 1) for i in range(complete)], cut
        torn = cut not in ends
        assert any("truncating" in r.getMessage() for r in caplog.records) == torn
        reopened.close()


def test_corrupt_record_ends_the_log_and_later_segments_are_dropped(tmp_path, caplog):
    wal_dir = tmp_path / "wal"
    db = DB.open(tmp_path)
    for t in (1000, 2000, 3000):
        commit_batch(db, t)
    middle = segment_path(tmp_path)
    offsets = [middle.stat().st_size]
    db.close()
    db = DB.open(tmp_path)  # a new segment after reopening
    commit_batch(db, 4000)
    db.close()
    assert list_segments(wal_dir) == [1, 2]
    data = bytearray(middle.read_bytes())
    data[offsets[0] - 3] ^= 0xFF  # inside the last record of the middle segment: CRC mismatch
    middle.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="stack.tsdb.wal"):
        db = DB.open(tmp_path)
    assert [t for t, _ in samples_of(db)["0"]] == [1000, 2000]  # 3000 was corrupt, 4000 came after it
    assert any("checksum mismatch" in r.getMessage() for r in caplog.records)
    db.close()


def test_deletions_are_logged_and_replayed(tmp_path):
    db = DB.open(tmp_path)
    for t in range(1000, 6000, 1000):
        commit_batch(db, t)
    db.delete_series([Matcher("=", "core", "1")], 2000, 3000)
    db.close()
    db = DB.open(tmp_path)
    got = samples_of(db)
    assert [t for t, _ in got["1"]] == [1000, 4000, 5000]
    assert len(got["0"]) == 5
    db.close()


def test_segments_roll_over_at_the_size_limit(tmp_path):
    wal = WAL(tmp_path, segment_size=200)
    for i in range(10):
        wal.log([], [1] * 5, list(range(i * 5, i * 5 + 5)), [1.0] * 5)
    wal.close()
    assert len(list_segments(tmp_path)) > 3


@pytest.mark.parametrize("fsync", [True])
def test_fsync_mode_writes_the_same_log(tmp_path, fsync):
    db = DB.open(tmp_path, fsync=fsync)
    commit_batch(db, 1000)
    db.close()
    db = DB.open(tmp_path)
    assert samples_of(db)["2"] == [(1000, 3.0)]
    db.close()
