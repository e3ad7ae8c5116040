"""Loaded by the bot under `bench/soak.py --tracemalloc` (this directory is put first on PYTHONPATH).

With PYTHONTRACEMALLOC set, SIGUSR1 takes a tracemalloc snapshot: the first is the baseline,
each later one appends to $TRACEMALLOC_OUT the allocations that grew since the baseline, by
line and by traceback. Nothing happens without PYTHONTRACEMALLOC.
"""

from __future__ import annotations

import os
import signal
import tracemalloc
from types import FrameType

_baseline: list[tracemalloc.Snapshot] = []


def _snapshot(signum: int, frame: FrameType | None) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    if not _baseline:
        _baseline.append(snapshot)
        return
    by_line = snapshot.compare_to(_baseline[0], "lineno")
    with open(os.environ.get("TRACEMALLOC_OUT", "tracemalloc.txt"), "a", encoding="utf-8") as out:
        out.write(f"live Python allocations since the baseline: {sum(s.size_diff for s in by_line) / 1024:+.1f} KiB\n")
        for stat in by_line[:20]:
            where = stat.traceback.format()[0].strip() if stat.traceback else "?"
            out.write(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {where}\n")
        for stat in snapshot.compare_to(_baseline[0], "traceback")[:3]:
            out.write(f"--- {stat.size_diff / 1024:+.1f} KiB\n" + "\n".join(stat.traceback.format()[-6:]) + "\n")


if os.environ.get("PYTHONTRACEMALLOC"):
    signal.signal(signal.SIGUSR1, _snapshot)
