"""Appends and commits to a TSDB directory forever, printing each committed timestamp.

Run by test_crash.py, which kills this process with SIGKILL at an arbitrary moment and then checks
that every timestamp printed (i.e. reported committed) is in the reopened database. A small block
range makes block cuts and WAL checkpoints happen during the run, so a kill can also land in them.

usage: python crash_writer.py DIR SERIES BLOCK_RANGE_MS
"""

from __future__ import annotations

import sys

from stack.model import Labels
from stack.tsdb import DB


def main() -> None:
    path, n_series, block_range = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    labels = [Labels({"__name__": "crash_test", "i": str(i)}) for i in range(n_series)]
    db = DB.open(path, block_range_ms=block_range)
    t = 0
    while True:
        t += 1000
        app = db.appender()
        for i, ls in enumerate(labels):
            app.append(ls, t, float(t + i))
        app.commit()
        print(t, flush=True)


if __name__ == "__main__":
    main()
