"""Loaded by the bot under `bench/soak.py --tracemalloc / --malloc-stats` (this directory is put
first on PYTHONPATH). Diagnosis only: nothing happens unless the variables below are set.

With PYTHONTRACEMALLOC set, SIGUSR1 takes a tracemalloc snapshot: the first is the baseline,
each later one appends to $TRACEMALLOC_OUT the allocations that grew since the baseline, by
line and by traceback.

With MALLOC_STATS_OUT set, a daemon thread appends glibc's `mallinfo2()` (summed over all
arenas) every $MALLOC_STATS_EVERY seconds (default 60): bytes in use by malloc against bytes
it holds free. Free bytes that grow while bytes in use do not is fragmentation, not a leak.
With MALLOC_TRIM_EVERY set as well, the thread calls `malloc_trim(0)` that often and logs
how much RSS it gave back.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
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


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _pymalloc() -> str:
    """Python's own allocator (obmalloc) takes 256 KiB arenas from mmap, outside mallinfo2:
    read its arena and block figures from sys._debugmallocstats, which writes to fd 2."""
    import sys
    import tempfile

    with tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        try:
            os.dup2(capture.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode("ascii", "replace")
    figures = {}
    for line in text.splitlines():
        if "=" in line and line.startswith("#"):
            key, _, value = line[1:].partition("=")
            figures[key.strip()] = value.strip().replace(",", "")
        elif line.startswith("Total"):
            figures["Total"] = line.split("=")[-1].strip().replace(",", "")
    arenas = figures.get("arenas allocated current", "?")
    used = figures.get("bytes in allocated blocks", "0")
    free = int(figures.get("bytes in available blocks", "0")) + int(figures.get("bytes in free pools", "0") or 0)
    return f"pymalloc: {arenas} arenas, in use {int(used) // 1024} kB, free in arenas {free // 1024} kB"


def _smaps() -> str:
    with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
        fields = dict(line.split(":", 1) for line in rollup if ":" in line and not line.startswith("0"))
    return f"anon {fields.get('Anonymous', '?').split()[0]} kB"


def _malloc_stats(out: str, every: float, trim_every: float) -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    began = time.monotonic()
    next_trim = began + trim_every if trim_every else float("inf")
    while True:
        time.sleep(every)
        info = libc.mallinfo2()
        line = (
            f"{(time.monotonic() - began) / 60:6.1f} min rss {_rss_kb()} kB  malloc: heap {info.arena // 1024} kB,"
            f" in use {info.uordblks // 1024} kB, free {info.fordblks // 1024} kB ({info.ordblks} chunks),"
            f" mmap {info.hblkhd // 1024} kB, top {info.keepcost // 1024} kB; {_pymalloc()}; {_smaps()}"
        )
        if time.monotonic() >= next_trim:
            before = _rss_kb()
            libc.malloc_trim(0)
            line += f"; malloc_trim: rss {before} -> {_rss_kb()} kB"
            next_trim += trim_every
        with open(out, "a", encoding="utf-8") as file:
            file.write(line + "\n")


if os.environ.get("PYTHONTRACEMALLOC"):
    signal.signal(signal.SIGUSR1, _snapshot)

if os.environ.get("MALLOC_STATS_OUT"):
    threading.Thread(
        target=_malloc_stats,
        args=(
            os.environ["MALLOC_STATS_OUT"],
            float(os.environ.get("MALLOC_STATS_EVERY", "60")),
            float(os.environ.get("MALLOC_TRIM_EVERY", "0")),
        ),
        name="malloc-stats",
        daemon=True,
    ).start()
