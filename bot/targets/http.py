"""HTTP checks against the stack's API, each bounded by its own timeout and timed."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bot.output.results import Check
from bot.targets.net_errors import describe
from bot.text.messages import Catalog


async def check_http(session: aiohttp.ClientSession, name: str, url: str, timeout: float, t: Catalog) -> Check:
    """GET `url`: 2xx is ok, anything else fails; no answer within `timeout` is a timeout line."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            async with session.get(url, allow_redirects=False) as response:
                await response.read()
                status = response.status
    except TimeoutError:
        return Check(name, "timeout", t("check.timeout", seconds=f"{timeout:g}"), _ms(started))
    except (aiohttp.ClientError, OSError) as exc:
        return Check(name, "fail", t("check.api_unreachable", reason=describe(exc)), _ms(started))
    return Check(name, "ok" if 200 <= status < 300 else "fail", t("check.http", status=status), _ms(started))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
