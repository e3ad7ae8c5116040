"""bot/app/memory.py on the real glibc: freed holes inside the malloc heap, which glibc keeps
(it only trims the top), go back to the system when the bot trims, and the bot trims by itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.app import memory

REPO = Path(__file__).resolve().parent.parent

# 40 MB of 16 KiB buffers (malloc, not pymalloc), every 16th kept alive: the freed ones are
# holes between live ones, under the top of the heap, so glibc cannot give them back by itself.
_FRAGMENT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from bot.app import memory

    def rss_kb():
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:"))

    buffers = [bytearray(16 * 1024) for _ in range(2560)]
    for b in buffers:
        b[::4096] = b"x" * len(b[::4096])  # touch every page
    kept = buffers[::16]
    del buffers
    before = rss_kb()
    trimmed = memory.trim()
    print(before, rss_kb(), trimmed, len(kept))
    """
)


@pytest.mark.skipif(memory._TRIM is None, reason="no glibc malloc_trim on this system")
def test_trim_gives_freed_heap_holes_back_to_the_system() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _FRAGMENT, str(REPO)], capture_output=True, text=True, timeout=60, check=True
    )
    before, after, trimmed, _ = out.stdout.split()
    assert trimmed == "True"
    assert int(before) - int(after) > 20_000, f"RSS {before} kB -> {after} kB: the freed 37 MB stayed"


async def test_the_runtime_trims_periodically(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    calls: list[int] = []
    monkeypatch.setattr(memory, "_TRIM", lambda pad: calls.append(pad) or 1)
    task = asyncio.create_task(memory.trim_periodically(every=0.01))
    try:
        for _ in range(200):
            if len(calls) >= 2:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert calls[:2] == [0, 0]
