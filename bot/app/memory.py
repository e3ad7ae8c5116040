"""Give glibc's free heap pages back to the system now and then (malloc_trim).

The 30-minute soak (bench/soak.py --malloc-stats) showed where the bot's RSS creep comes
from: after the first minutes, Python's own allocator and the bytes glibc's malloc has in
use both stay level, but the malloc heap keeps growing by its *free* chunks (3.7 → 8.0 MB
in 16 minutes): request-sized buffers (JSON bodies, HTTP reads, over pymalloc's 512 bytes)
freed between longer-lived allocations leave holes that glibc keeps, because it only ever
returns the top of the heap. `malloc_trim(0)` releases the whole free pages inside those
holes (madvise), so RSS follows what is in use. It takes milliseconds and runs in a thread.
Elsewhere than glibc (musl, macOS) there is no malloc_trim and this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

TRIM_EVERY = 60.0
log = logging.getLogger(__name__)


def _load_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _load_trim()


def trim() -> bool:
    """Return free heap pages to the system; False where there is no glibc (nothing to do)."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


async def trim_periodically(every: float = TRIM_EVERY) -> None:
    """Run for the life of the process; a failed trim is logged, never fatal."""
    if _TRIM is None:
        return
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(trim)
        except Exception:  # pragma: no cover - malloc_trim has no failure mode we know of
            log.warning("malloc_trim failed", exc_info=True)
