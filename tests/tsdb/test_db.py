"""The DB: blocks cut from the head, reopened unchanged, merged with the head, expired by retention."""

from __future__ import annotations

import json
import logging
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stack.clock import VirtualClock
from stack.model import Labels, Matcher
from stack.tsdb import BLOCK_RANGE_MS, DB
from stack.tsdb.block import list_blocks, write_block
from stack.tsdb.db import DirectoryLockedError

HOUR = 3600 * 1000
T0 = 1_700_000_000_000 // BLOCK_RANGE_MS * BLOCK_RANGE_MS  # aligned, so block edges are predictable
ALL = (-(2**62), 2**62)
METRICS = [Labels({"__name__": "req_total", "job": "api", "instance": f"h{i}"}) for i in range(4)]


def ingest(db: DB, start: int, end: int, step: int = 5000) -> None:
    for t in range(start, end, step):
        app = db.appender()
        for i, ls in enumerate(METRICS):
            app.append(ls, t, float((t - T0) // step * (i + 1)))
        app.commit()


def dump(db: DB, matchers=None) -> dict[Labels, tuple[list[int], list[float]]]:
    matchers = matchers or [Matcher("=", "__name__", "req_total")]
    return {sd.labels: (sd.t.tolist(), sd.v.tolist()) for sd in db.select(matchers, *ALL)}


@pytest.fixture
def clock():
    c = VirtualClock(start=T0 / 1000)
    yield c
    c.close()


def test_head_is_cut_into_aligned_2h_blocks_and_reopening_gives_the_same_data(tmp_path, clock):
    db = DB.open(tmp_path, clock=clock)
    ingest(db, T0, T0 + 5 * HOUR + 10_000)  # a cut happens once the head spans more than 3 h
    assert [(b.mint, b.maxt) for b in db.blocks] == [(T0, T0 + 2 * HOUR), (T0 + 2 * HOUR, T0 + 4 * HOUR)]
    assert db.head.min_time == T0 + 4 * HOUR  # the head keeps only what is not in a block
    before = dump(db)
    assert all(t == list(range(T0, T0 + 5 * HOUR + 10_000, 5000)) for t, _ in before.values())
    db.close()
    db = DB.open(tmp_path, clock=clock)
    assert dump(db) == before
    meta = json.loads((db.blocks[0].dir / "meta.json").read_text())
    assert meta["minTime"] == T0 and meta["maxTime"] == T0 + 2 * HOUR
    assert meta["stats"] == {"numSamples": 4 * 1440, "numSeries": 4, "numChunks": 4}
    db.close()


def test_wal_is_checkpointed_after_a_cut_so_replay_does_not_duplicate_block_data(tmp_path, clock):
    db = DB.open(tmp_path, clock=clock)
    ingest(db, T0, T0 + 4 * HOUR)
    wal_files = sorted(p.name for p in (tmp_path / "wal").iterdir())
    assert any(name.startswith("checkpoint.") for name in wal_files)
    assert "00000001" not in wal_files  # the segment covered by the checkpoint is gone
    db.close()
    db = DB.open(tmp_path, clock=clock)
    for t, _ in dump(db).values():
        assert len(t) == len(set(t)) == 4 * 720


def test_appending_into_a_range_already_cut_is_out_of_bounds(tmp_path, clock):
    db = DB.open(tmp_path, clock=clock)
    ingest(db, T0, T0 + 4 * HOUR)
    app = db.appender()
    app.append(Labels({"__name__": "late"}), T0 + HOUR, 1.0)
    app.commit()
    assert app.out_of_bounds == 1
    db.close()


def test_queries_merge_blocks_and_head_across_the_boundary(tmp_path, clock):
    db = DB.open(tmp_path, clock=clock)
    ingest(db, T0, T0 + 4 * HOUR)
    lo, hi = T0 + 2 * HOUR - 10_000, T0 + 2 * HOUR + 10_000
    [sd, *_] = db.select([Matcher("=", "instance", "h0")], lo, hi)
    assert sd.t.tolist() == list(range(lo, hi + 1, 5000))
    assert np.array_equal(sd.v, (sd.t - T0) // 5000)
    assert db.label_values("instance") == ["h0", "h1", "h2", "h3"]
    assert db.label_names(mint=T0, maxt=T0 + HOUR) == ["__name__", "instance", "job"]
    assert db.series([Matcher("=", "instance", "h3")], T0, T0 + 1) == [METRICS[3]]
    db.close()


def test_overlapping_block_and_head_data_merge_without_duplicates(tmp_path, clock):
    ls = Labels({"__name__": "x"})
    write_block(tmp_path, [(ls, np.array([1000, 2000, 3000]), np.array([1.0, 2.0, 3.0]))], 1000, 3001, 0)
    db = DB.open(tmp_path, clock=clock)
    app = db.appender()
    app.append(ls, 3000, 30.0)
    app.append(ls, 4000, 40.0)
    app.commit()
    [sd] = db.select([Matcher("=", "__name__", "x")], *ALL)
    assert sd.t.tolist() == [1000, 2000, 3000, 4000]
    assert sd.v.tolist() == [1.0, 2.0, 30.0, 40.0]  # the head, the newer source, wins the tie
    db.close()


def test_retention_deletes_whole_blocks_older_than_the_newest_minus_retention(tmp_path, clock):
    db = DB.open(tmp_path, clock=clock, retention_ms=4 * HOUR)
    ingest(db, T0, T0 + 10 * HOUR, step=60_000)
    # blocks [0,2) [2,4) [4,6) [6,8)h were cut; the newest ends at 8h, so ends <= 4h are expired
    assert [(b.mint - T0) // HOUR for b in db.blocks] == [4, 6]
    assert len(list_blocks(tmp_path)) == 2
    first = min(t[0] for t, _ in dump(db).values())
    assert first == T0 + 4 * HOUR
    db.close()


def test_delete_series_removes_data_from_blocks_and_head(tmp_path, clock):
    db = DB.open(tmp_path, clock=clock)
    ingest(db, T0, T0 + 4 * HOUR)
    db.delete_series([Matcher("=", "instance", "h1")], T0 + HOUR, T0 + 3 * HOUR)
    db.clean_tombstones()
    data = dump(db)
    t1 = np.array(data[METRICS[1]][0])
    assert not ((t1 >= T0 + HOUR) & (t1 <= T0 + 3 * HOUR)).any()
    assert t1[0] == T0 and t1[-1] == T0 + 4 * HOUR - 5000
    assert len(data[METRICS[0]][0]) == 4 * 720  # other series untouched
    db.close()
    db = DB.open(tmp_path, clock=clock)
    assert dump(db)[METRICS[1]][0] == t1.tolist()
    db.close()


def test_blocks_written_by_others_are_skipped_with_a_warning(tmp_path, clock, caplog):
    foreign = tmp_path / "01ABCDEFGHJKMNPQRSTVWXYZ00"
    foreign.mkdir()
    meta = {"ulid": foreign.name, "minTime": 0, "maxTime": 1, "version": 1}  # upstream's, no "workshop" key
    (foreign / "meta.json").write_text(json.dumps(meta))
    with caplog.at_level(logging.WARNING, logger="stack.tsdb.db"):
        db = DB.open(tmp_path, clock=clock)
    assert db.blocks == []
    assert any("not a block in this kit's format" in r.getMessage() for r in caplog.records)
    db.close()


def test_reload_blocks_picks_up_blocks_written_while_open(tmp_path, clock):
    db = DB.open(tmp_path, clock=clock)
    ls = Labels({"__name__": "backfilled"})
    write_block(tmp_path, [(ls, np.array([5000]), np.array([7.0]))], 5000, 5001, 0)
    assert db.select([Matcher("=", "__name__", "backfilled")], *ALL) == []
    db.reload_blocks()
    [sd] = db.select([Matcher("=", "__name__", "backfilled")], *ALL)
    assert sd.v.tolist() == [7.0]
    db.close()


def test_stats_describe_the_head_and_the_blocks(tmp_path, clock):
    db = DB.open(tmp_path, clock=clock)
    ingest(db, T0, T0 + 4 * HOUR)
    assert [b["numSamples"] for b in db.block_stats()] == [4 * 1440]
    assert db.stats()["headStats"]["numSeries"] == 4
    assert db.stats()["headStats"]["minTime"] == T0 + 2 * HOUR
    db.close()


def test_snapshot_is_a_tsdb_directory_with_blocks_and_head(tmp_path, clock):
    db = DB.open(tmp_path / "data", clock=clock)
    ingest(db, T0, T0 + 4 * HOUR)
    expected = dump(db)
    name = db.snapshot()
    head_only = db.snapshot(skip_head=True)
    db.close()
    with DB.open(tmp_path / "data" / "snapshots" / name, clock=clock) as snap:
        assert dump(snap) == expected
    with DB.open(tmp_path / "data" / "snapshots" / head_only, clock=clock) as snap:
        assert all(t[-1] == T0 + 2 * HOUR - 5000 for t, _ in dump(snap).values())


def test_retention_is_applied_when_opening(tmp_path, clock):
    ls = Labels({"__name__": "x"})
    for start in (0, 10 * HOUR, 20 * HOUR):
        data = [(ls, np.array([start, start + 1000]), np.array([1.0, 2.0]))]
        write_block(tmp_path, data, start, start + 1001, 0)
    db = DB.open(tmp_path, clock=clock, retention_ms=15 * HOUR)
    assert [b.mint for b in db.blocks] == [10 * HOUR, 20 * HOUR]
    assert len(list_blocks(tmp_path)) == 2
    db.close()


def test_a_directory_can_be_open_only_once_at_a_time(tmp_path, clock):
    db = DB.open(tmp_path, clock=clock)
    with pytest.raises(DirectoryLockedError, match="in use by another process"):
        DB.open(tmp_path, clock=clock)
    db.close()
    DB.open(tmp_path, clock=clock).close()  # free again once closed


def test_a_damaged_block_is_skipped_with_a_warning_and_the_rest_is_served(tmp_path, clock, caplog):
    ls = Labels({"__name__": "x"})
    good = write_block(tmp_path, [(ls, np.array([1000]), np.array([1.0]))], 1000, 1001, 0)
    bad = write_block(tmp_path, [(ls, np.array([5000]), np.array([2.0]))], 5000, 5001, 0)
    (bad / "index").write_bytes((bad / "index").read_bytes()[:5])
    with caplog.at_level(logging.WARNING, logger="stack.tsdb.db"):
        db = DB.open(tmp_path, clock=clock)
    assert [b.dir for b in db.blocks] == [good]
    assert any("damaged index" in r.getMessage() for r in caplog.records)
    [sd] = db.select([Matcher("=", "__name__", "x")], *ALL)
    assert sd.v.tolist() == [1.0]
    db.close()


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.lists(st.tuples(st.integers(0, 2), st.integers(-15000, 6000), st.integers(0, 9)),
                                   max_size=12), st.booleans()), min_size=1, max_size=12))
def test_blocks_head_and_wal_together_behave_like_one_ordered_store(steps):
    """Random batches (time mostly moving forward, sometimes back) with frequent block cuts (10 s
    range) and random reopenings: a query returns exactly the samples a simple model accepts (per
    series only newer timestamps, and nothing older than the last block cut from the head)."""
    labels = [Labels({"__name__": "m", "s": str(i)}) for i in range(3)]
    model: dict[int, dict[int, float]] = {0: {}, 1: {}, 2: {}}
    with tempfile.TemporaryDirectory() as d:
        db = DB.open(d, block_range_ms=10_000, retention_ms=0)
        clock_t = 0
        try:
            for batch, reopen in steps:
                app = db.appender()
                persisted_up_to = max((b.maxt for b in db.blocks), default=0)  # cut blocks end here
                for i, dt, v in batch:
                    clock_t = max(0, clock_t + dt)
                    app.append(labels[i], clock_t, float(v))
                    last = max(model[i], default=-1)
                    if clock_t > last and clock_t >= persisted_up_to:
                        model[i][clock_t] = float(v)
                app.commit()
                if reopen:
                    db.close()
                    db = DB.open(d, block_range_ms=10_000, retention_ms=0)
            got = {int(sd.labels.get("s")): dict(zip(sd.t.tolist(), sd.v.tolist(), strict=True))
                   for sd in db.select([Matcher("=", "__name__", "m")], *ALL)}
            assert got == {i: m for i, m in model.items() if m}
        finally:
            db.close()


def test_leftovers_of_interrupted_writes_are_removed_on_open(tmp_path, clock):
    (tmp_path / "01HALFWRITTENBLOCK00000000.tmp").mkdir()
    (tmp_path / "wal").mkdir()
    (tmp_path / "wal" / "checkpoint.00000003.tmp").write_bytes(b"partial")
    DB.open(tmp_path, clock=clock).close()
    assert not list(tmp_path.glob("*.tmp")) and not list((tmp_path / "wal").glob("*.tmp"))
