"""The confirmations and approvals still waiting, read from Redis where the confirmation flow
keeps them (bot/core/confirmations.py): `/ops pending`, the App Home tab and the hand-off
summary all list the same records, so they are read in one place."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.core.deps import Deps

SCAN_LIMIT = 5000
STORE_TIMEOUT = 2.0
WAITING_STATES = ("pending", "awaiting_approval")


async def waiting_records(deps: Deps, timeout: float = STORE_TIMEOUT) -> list[dict[str, Any]]:
    """Every confirmation record still waiting (pending or awaiting approval), newest first.

    Bounded: at most SCAN_LIMIT keys and `timeout` seconds. Raises RedisError, OSError or
    TimeoutError when Redis does not answer: the caller says the list is not known."""
    redis = deps.redis
    pattern = f"{deps.settings.redis_prefix}confirm:*"
    found: list[dict[str, Any]] = []

    async def scan() -> None:
        keys = []
        async for key in redis.scan_iter(match=pattern, count=500):
            keys.append(key)
            if len(keys) >= SCAN_LIMIT:
                break
        for start in range(0, len(keys), 200):
            for raw in await redis.mget(keys[start : start + 200]):
                if raw:
                    record = json.loads(raw)
                    if record.get("state") in WAITING_STATES:
                        found.append(record)

    await asyncio.wait_for(scan(), timeout)
    return sorted(found, key=lambda r: float(r.get("created_at") or 0), reverse=True)


def command_of(prefix: str, record: dict[str, Any]) -> str:
    """The command a waiting record stands for, as it would be typed (for the lists)."""
    shown = " ".join(str(v) for v in (record.get("arguments") or {}).values() if v not in (None, False, ""))
    return f"{prefix} {record.get('operation', '?')} {shown}".strip()
