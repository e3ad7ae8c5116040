"""Who runs a confirmed step, for how long that is known, and what happens when nobody does.

A step moved to `running` carries its owner (this replica's id) and a lease (`lease_until`,
epoch seconds) that the owner renews while the step runs. A replica that dies without
draining (SIGKILL, OOM, a lost node) stops renewing; any replica's sweep then finds the
record `running` with its lease expired, moves it to `interrupted` (one atomic script, so two
sweeping replicas cannot both win), writes an audit row and tells the requester in the
step's channel. The record is released: a later click says "interrupted", not "already
running" for a day.

If the audit log already holds the step's `executed` row, the step did end and only its
record's last move was lost (the bot's Redis was down at that moment): the sweep then sets
the record to the outcome the audit row says, instead of `interrupted`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.storage.cancel import stop_if_cancelled
from bot.storage.database import short_error
from bot.text.ids import new_id

log = logging.getLogger(__name__)

STORE_TIMEOUT = 2.0

# Renew the lease of a running step, only while it is still ours and still running.
_RENEW = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local rec = cjson.decode(raw)
if rec.state ~= 'running' or rec.owner ~= ARGV[1] then return 0 end
rec.lease_until = tonumber(ARGV[2])
redis.call('SET', KEYS[1], cjson.encode(rec), 'KEEPTTL')
return 1
"""

# Release a running step whose lease expired: to ARGV[2] ('interrupted', or the outcome the
# audit log recorded), only if it is still running and its lease still expired.
_RELEASE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing', ''} end
local rec = cjson.decode(raw)
if rec.state ~= 'running' or not rec.lease_until or rec.lease_until >= tonumber(ARGV[1]) then
  return {'alive', raw}
end
rec.state = ARGV[2]
rec.detail = ARGV[3]
local out = cjson.encode(rec)
redis.call('SET', KEYS[1], out, 'KEEPTTL')
return {'ok', out}
"""


def replica_id() -> str:
    """This process, told apart from every other replica and from its own earlier lives."""
    return f"{socket.gethostname()}:{os.getpid()}:{new_id(6)}"


class Leases:
    """Renews the leases of the steps this replica runs and releases expired ones of any replica."""

    def __init__(self, redis: Callable[[], aioredis.Redis], key_prefix: str, lease: float) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self.lease = lease
        self.owner = replica_id()
        self._renew: Any = None
        self._release: Any = None

    def until(self) -> float:
        return time.time() + self.lease

    async def renew(self, key: str) -> bool:
        if self._renew is None:
            self._renew = self._redis().register_script(_RENEW)
        answer = await asyncio.wait_for(self._renew(keys=[key], args=[self.owner, self.until()]), STORE_TIMEOUT)
        return bool(answer)

    async def keep(self, key: str) -> None:
        """Renew every third of the lease until cancelled; a failed renewal is logged, never fatal
        (the step goes on; at worst another replica reports it interrupted once the lease ends)."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if not await self.renew(key):
                    return  # no longer running, or no longer ours
            except (RedisError, OSError, TimeoutError) as exc:
                stop_if_cancelled()
                log.warning("lease of %s not renewed: %s", key, short_error(exc))
            stop_if_cancelled()

    async def expired(self) -> list[tuple[str, dict[str, Any]]]:
        """(key, record) of every running step whose lease has ended."""
        client = self._redis()
        now = time.time()
        found = []
        async with asyncio.timeout(STORE_TIMEOUT * 5):
            async for key in client.scan_iter(match=f"{self._prefix}confirm:*", count=500):
                raw = await client.get(key)
                if not raw:
                    continue
                with contextlib.suppress(ValueError):
                    record = json.loads(raw)
                    lease = record.get("lease_until")
                    if record.get("state") == "running" and lease is not None and float(lease) < now:
                        found.append((key.decode() if isinstance(key, bytes) else str(key), record))
        return found

    async def release(self, key: str, state: str, detail: str) -> dict[str, Any] | None:
        """Move an expired running record to `state`; the record if this call won, else None."""
        if self._release is None:
            self._release = self._redis().register_script(_RELEASE)
        answer = await asyncio.wait_for(self._release(keys=[key], args=[time.time(), state, detail]), STORE_TIMEOUT)
        outcome = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
        return dict(json.loads(answer[1])) if outcome == "ok" else None


async def every(interval: float, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work` now and then every `interval` seconds; a failure is logged and the loop goes on."""
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stop_if_cancelled()  # a client that turned our cancellation into its own error
            log.warning("background sweep failed: %s", short_error(exc))
        # wait_for (3.11) can return a result that was ready as the cancel came, dropping the cancel.
        stop_if_cancelled()
        await asyncio.sleep(interval)
