"""Prometheus' HTTP API (`stack.prometheus`): `query_range` for charts, bounded like every target."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from bot.text.errors import TargetError

MAX_POINTS = 500


async def query_range(
    session: aiohttp.ClientSession, url: str, expr: str, window: timedelta, timeout: float
) -> list[tuple[dict[str, str], list[tuple[datetime, float]]]]:
    """Each series of `expr` over the last `window`: its labels and its (time, value) points."""
    end = datetime.now(UTC)
    start = end - window
    step = max(1.0, window.total_seconds() / MAX_POINTS)
    params = {"query": expr, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}", "step": f"{step:g}"}
    try:
        async with asyncio.timeout(timeout):
            async with session.get(f"{url.rstrip('/')}/api/v1/query_range", params=params) as response:
                body: dict[str, Any] = await response.json(content_type=None)
    except TimeoutError:
        raise TargetError(service="prometheus", detail=f"no answer within {timeout:g}s") from None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        raise TargetError(service="prometheus", detail=f"unreachable: {type(exc).__name__}") from None
    if body.get("status") != "success":
        raise TargetError(service="prometheus", detail=str(body.get("error") or "query failed")[:200])
    out = []
    for item in (body.get("data") or {}).get("result") or []:
        points = []
        for stamp, value in item.get("values") or []:
            try:
                number = float(value)
            except ValueError:
                continue
            if number == number:  # NaN (no data in a step) is a gap, not a point
                points.append((datetime.fromtimestamp(float(stamp), UTC), number))
        out.append(({str(k): str(v) for k, v in (item.get("metric") or {}).items()}, points))
    return out


def expression_of(generator_url: str) -> str | None:
    """The PromQL of an alert, from its generatorURL (`…/graph?g0.expr=…`)."""
    from urllib.parse import parse_qs, urlsplit

    try:
        query = parse_qs(urlsplit(generator_url).query)
    except ValueError:
        return None
    values = query.get("g0.expr")
    return values[0] if values else None
