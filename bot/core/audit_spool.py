"""Audit rows that could not be written when they happened, kept until the database answers.

A confirmed step that ran while the bot's Postgres was down (or read-only, or hung) must still
leave its `executed` row. The row is kept in the bot's Redis (a list shared by the replicas,
so whichever replica sees the database first writes it), or, when Redis is down too, in this
process's memory (lost if the process dies; the log says so). Any replica's sweep writes
the kept rows in order, with the time they happened.

Each kept row carries an `entry_id` that the audit table holds unique (migration 7), so a
row written twice (two replicas flushing at once, a crash between the insert and the pop)
is one row. A replica pops the list's head only if it still is the row it wrote.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core.audit import AuditEntry, AuditStore
from bot.storage.database import short_error
from bot.text.errors import UnavailableError

log = logging.getLogger(__name__)

STORE_TIMEOUT = 2.0
MEMORY_CAP = 1000
FLUSH_BATCH = 100

_POP_IF_HEAD = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) return 1 end
return 0
"""


def _dump(entry: AuditEntry) -> str:
    data = asdict(entry)
    data["at"] = entry.at.isoformat() if entry.at else None
    return json.dumps(data, default=str, sort_keys=True)


def _load(raw: bytes | str) -> AuditEntry:
    data: dict[str, Any] = json.loads(raw)
    at = data.pop("at", None)
    return AuditEntry(**data, at=datetime.fromisoformat(at) if at else None)


class AuditSpool:
    def __init__(self, redis: Callable[[], aioredis.Redis], key: str) -> None:
        self._redis = redis
        self.key = key
        self._memory: deque[AuditEntry] = deque(maxlen=MEMORY_CAP)
        self._pop: Any = None

    async def keep(self, entry: AuditEntry) -> None:
        """Keep a row the database did not take; never raises."""
        try:
            await asyncio.wait_for(self._redis().rpush(self.key, _dump(entry)), STORE_TIMEOUT)
            log.warning("audit row kept for later (bot database down): %s %s", entry.operation, entry.decision)
        except (RedisError, OSError, TimeoutError) as exc:
            self._memory.append(entry)
            log.error(
                "audit row kept in memory only (database and Redis down: %s): %s %s",
                short_error(exc),
                entry.operation,
                entry.decision,
            )

    async def flush(self, audit: AuditStore) -> int:
        """Write kept rows until none is left or the database refuses; how many were written."""
        written = 0
        while self._memory:
            await audit.record(self._memory[0])
            self._memory.popleft()
            written += 1
        client = self._redis()
        if self._pop is None:
            self._pop = client.register_script(_POP_IF_HEAD)
        while True:
            batch = await asyncio.wait_for(client.lrange(self.key, 0, FLUSH_BATCH - 1), STORE_TIMEOUT)
            if not batch:
                return written
            for raw in batch:
                await audit.record(_load(raw))
                await asyncio.wait_for(self._pop(keys=[self.key], args=[raw]), STORE_TIMEOUT)
                written += 1


async def write_or_keep(audit: AuditStore, spool: AuditSpool, entry: AuditEntry, timeout: float) -> str | None:
    """Write the row now, or keep it for later: None when written, else why it was not (to tell the user)."""
    try:
        await asyncio.wait_for(audit.record(entry), timeout)
        return None
    except UnavailableError as exc:
        reason = str(exc.fields.get("detail", exc.key))
    except Exception as exc:  # read-only after a failover, a hung server, tables missing
        reason = short_error(exc)
    await spool.keep(entry)
    return reason
