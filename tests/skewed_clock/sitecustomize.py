"""Loaded by a bot process whose PYTHONPATH puts this directory on it: the process's wall clock
(`datetime.now`, `datetime.utcnow`) runs OPSBOT_TEST_CLOCK_SKEW seconds ahead (or behind),
as on a replica whose NTP went wrong. Monotonic time is left alone, as the kernel's is."""

from __future__ import annotations

import datetime as _datetime
import os
from typing import Any

_SKEW = _datetime.timedelta(seconds=float(os.environ.get("OPSBOT_TEST_CLOCK_SKEW", "0")))
_REAL = _datetime.datetime


class _SkewedDatetime(_datetime.datetime):
    __slots__ = ()

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return _REAL.now(tz) + _SKEW

    @classmethod
    def utcnow(cls) -> Any:
        return cls.now(_datetime.UTC).replace(tzinfo=None)


if _SKEW:
    _datetime.datetime = _SkewedDatetime  # type: ignore[misc]
