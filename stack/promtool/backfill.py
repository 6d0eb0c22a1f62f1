"""``workshop promtool tsdb create-blocks-from openmetrics INPUT_FILE OUTPUT_DIR``: backfilling.

Turns an OpenMetrics file (timestamps in seconds, ending with ``# EOF``) into TSDB blocks that
``workshop prometheus --storage.tsdb.path=OUTPUT_DIR`` (or ``DB.open``) then serves, as the real
promtool does. Blocks are aligned to the 2 h block range like upstream's default
``--max-block-duration``, and each holds the real time span of its samples.

The whole file is parsed and validated first (errors name the line, exit code 1), so a mistake
never leaves half the blocks behind. Writing into a directory that already holds blocks
overlapping the input's time range is refused unless ``--allow-overlapping-blocks`` is given:
overlaps are served merged, but usually mean the same file was imported twice.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stack.tsdb.block import BlockError, list_blocks, read_meta, write_block
from stack.tsdb.db import BLOCK_RANGE_MS
from stack.tsdb.openmetrics import ParseError, check_order, parse_file


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="workshop promtool tsdb create-blocks-from openmetrics",
        description="Import samples from an OpenMetrics file into TSDB blocks.")
    parser.add_argument("input_file")
    parser.add_argument("output_dir", nargs="?", default="data/")  # upstream's default output dir
    parser.add_argument("--quiet", action="store_true", help="do not print created blocks or progress")
    parser.add_argument("--allow-overlapping-blocks", action="store_true",
                        help="write even if OUTPUT_DIR has blocks overlapping the input's time range")
    args = parser.parse_args(argv)
    try:
        blocks = backfill(args.input_file, args.output_dir, quiet=args.quiet,
                          allow_overlap=args.allow_overlapping_blocks)
    except BackfillError as e:
        print(f"promtool: {e}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"{'BLOCK ULID':<26}  {'MIN TIME':<24}  {'MAX TIME':<24}  {'SAMPLES':>9}  {'SERIES':>7}")
        for meta in blocks:
            print(f"{meta['ulid']:<26}  {_iso(meta['minTime']):<24}  {_iso(meta['maxTime']):<24}  "
                  f"{meta['stats']['numSamples']:>9}  {meta['stats']['numSeries']:>7}")
    return 0


class BackfillError(Exception):
    """Why nothing was written (bad input, overlapping data, unreadable file)."""


def backfill(input_file: str, output_dir: str, quiet: bool = True, allow_overlap: bool = False,
             block_range_ms: int = BLOCK_RANGE_MS) -> list[dict]:
    """Parse ``input_file`` and write its samples as blocks into ``output_dir``; returns their metas."""
    bar = tqdm(unit="lines", unit_scale=True, desc="parsing", file=sys.stderr, disable=quiet, leave=False)
    try:
        samples = check_order(parse_file(input_file, progress=bar.update))
    except ParseError as e:
        raise BackfillError(f"{input_file}:{e.line}: {str(e).split(': ', 1)[1]}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BackfillError(f"cannot read {input_file}: {e}") from None
    finally:
        bar.close()
    if not len(samples.t):
        raise BackfillError(f"{input_file}: no samples to import")

    out = Path(output_dir)
    mint, maxt = int(samples.t.min()), int(samples.t.max())
    if not allow_overlap:
        _refuse_overlap(out, mint, maxt)

    block_of = samples.t // block_range_ms
    order = np.lexsort((samples.t, samples.sid, block_of))
    t, v, sid, blk = samples.t[order], samples.v[order], samples.sid[order], block_of[order]
    cuts = np.flatnonzero((np.diff(blk) != 0) | (np.diff(sid) != 0)) + 1
    starts, ends = np.concatenate(([0], cuts)), np.concatenate((cuts, [len(t)]))
    block_ids = blk[starts]
    metas = []
    now_ms = int(time.time() * 1000)
    for b in tqdm(np.unique(block_ids).tolist(), desc="writing blocks", unit="blocks", file=sys.stderr,
                  disable=quiet, leave=False):
        pieces = np.flatnonzero(block_ids == b)
        data = [(samples.series[int(sid[starts[i]])], t[starts[i] : ends[i]], v[starts[i] : ends[i]])
                for i in pieces]
        lo, hi = int(t[starts[pieces]].min()), int(t[ends[pieces] - 1].max()) + 1
        out.mkdir(parents=True, exist_ok=True)
        metas.append(read_meta(write_block(out, data, lo, hi, now_ms)))
    return metas


def _refuse_overlap(out: Path, mint: int, maxt: int) -> None:
    for d in list_blocks(out):
        try:
            meta = read_meta(d)
        except BlockError:
            continue
        if meta.get("minTime", 0) <= maxt and meta.get("maxTime", 0) > mint:
            raise BackfillError(
                f"{out} already holds block {d.name} [{_iso(meta['minTime'])}, {_iso(meta['maxTime'])}) "
                f"overlapping the input's range [{_iso(mint)}, {_iso(maxt)}]; "
                "pass --allow-overlapping-blocks to write anyway")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
