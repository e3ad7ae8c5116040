"""PNG line charts for Slack: metrics over time, drawn with matplotlib's Agg backend (no display).

Sized for Slack's preview (about 800 × 350 px at 100 dpi) with labels big enough to read
there, the unit on the y axis and the time zone on the x axis, one zone per chart.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
from matplotlib.figure import Figure

MAX_SERIES = 8
_DRAWER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")
"""One thread draws every chart: a chart takes ~70 ms of CPU here, which on the event loop
would hold every other command (a burst of alerts with charts would hold it for minutes)."""


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[datetime, float]]


def line_chart(series: Sequence[Series], *, title: str, unit: str, tz_name: str, scale: float = 1.0) -> bytes:
    """One PNG: each series a line (values multiplied by `scale`), the y axis in `unit`.

    Blocking (about 70 ms of CPU): call `draw_line_chart` from async code."""

    tz = ZoneInfo(tz_name)
    figure = Figure(figsize=(8, 3.5), dpi=100)  # no pyplot: no global state shared between charts
    axes = figure.subplots()
    for one in list(series)[:MAX_SERIES]:
        if not one.points:
            continue
        times = mdates.date2num([moment.astimezone(tz) for moment, _ in one.points])  # type: ignore[no-untyped-call]
        values = [value * scale for _, value in one.points]
        axes.plot(times, values, label=one.label, linewidth=1.8)
    axes.set_title(title, fontsize=13)
    axes.set_ylabel(unit, fontsize=11)
    axes.set_xlabel(tz_name, fontsize=10)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))  # type: ignore[no-untyped-call]
    axes.grid(True, alpha=0.3)
    axes.tick_params(labelsize=10)
    if any(one.points for one in series) and len(series) > 1:
        axes.legend(fontsize=9, loc="upper left")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


async def draw_line_chart(
    series: Sequence[Series], *, title: str, unit: str, tz_name: str, scale: float = 1.0
) -> bytes:
    """`line_chart` on the chart thread, so the event loop goes on answering while it draws."""
    draw = functools.partial(line_chart, series, title=title, unit=unit, tz_name=tz_name, scale=scale)
    return await asyncio.get_running_loop().run_in_executor(_DRAWER, draw)
