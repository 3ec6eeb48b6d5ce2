"""Run the `nappatzim` command with tracemalloc on; SIGUSR1 dumps a snapshot.

`live_traced_serve.py serve` is `nappatzim serve` with allocation tracing, which makes the
server slower and larger, so it serves memory analysis only. Each SIGUSR1 writes the next
snapshot to `$TRACEMALLOC_DIR/snapshot-<n>.tracemalloc`.

    TRACEMALLOC_DIR=/tmp/snapshots .venv/bin/python bench/live_traced_serve.py serve
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

from server.cli import main

FRAMES = 12


def dump_snapshot(_signal: int, _frame: FrameType | None) -> None:
    directory = Path(os.environ["TRACEMALLOC_DIR"])
    number = len(list(directory.glob("snapshot-*.tracemalloc")))
    path = directory / f"snapshot-{number}.tracemalloc"
    partial = path.with_suffix(".partial")
    tracemalloc.take_snapshot().dump(str(partial))
    # Readers look only for complete files.
    partial.rename(path)


if __name__ == "__main__":
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, dump_snapshot)
    sys.exit(main(sys.argv[1:]))
