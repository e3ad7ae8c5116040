"""One destructive step per target at a time, across replicas: target locks in the bot's Redis.

Each destructive operation declares once, with its registration, what it touches
(`@operation(..., touches=("service:{service}",), when_busy="refuse")`): names of targets, filled
from its arguments. A confirmed step takes all its targets at once (one Lua script, so two
replicas cannot both win) before it runs, holds them under a lease it renews while it runs
(like bot/core/step_leases.py), and releases them when it ends, however it ends; a replica that
dies leaves them to run out with the lease. Each lock records the holder: the confirmation, the
command with its arguments, the person, since when and the replica running it, so a refusal or
a wait can name them.

What the second step does when a target is held is its operation's `when_busy`:
`refuse` (the click is refused, naming the holder; the confirmation stays open to click again)
or `wait` (the step keeps its place and waits, its message saying for what and whom).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.storage.cancel import stop_if_cancelled
from bot.storage.database import short_error

log = logging.getLogger(__name__)

WhenBusy = Literal["wait", "refuse"]
STORE_TIMEOUT = 2.0

# Take every key, or none: the first key held by another confirmation is answered with its record.
_ACQUIRE = """
for i, k in ipairs(KEYS) do
  local raw = redis.call('GET', k)
  if raw then
    local rec = cjson.decode(raw)
    if rec.action ~= ARGV[3] then return {k, raw} end
  end
end
for i, k in ipairs(KEYS) do redis.call('SET', k, ARGV[1], 'PX', tonumber(ARGV[2])) end
return {'ok', ''}
"""

# Renew (ARGV[2] > 0) or release (ARGV[2] = 0) the keys this confirmation holds, never another's.
_KEEP_OR_RELEASE = """
local n = 0
for i, k in ipairs(KEYS) do
  local raw = redis.call('GET', k)
  if raw and cjson.decode(raw).action == ARGV[1] then
    if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', k, tonumber(ARGV[2])) else redis.call('DEL', k) end
    n = n + 1
  end
end
return n
"""


@dataclass(frozen=True)
class Holder:
    """Who holds a target: the confirmation, its command as typed, its person and since when."""

    target: str
    action: str
    command: str
    person: str
    since: float


def targets_of(touches: tuple[str, ...], arguments: dict[str, Any]) -> tuple[str, ...]:
    """The declared target patterns filled from the step's arguments (`service:{service}` → `service:api`)."""
    values = {k: "" if v is None else str(v) for k, v in arguments.items()}
    return tuple(sorted({pattern.format(**values) for pattern in touches}))


class TargetLocks:
    """The locks of one bot (one Redis prefix), shared by every replica."""

    def __init__(self, redis: Callable[[], aioredis.Redis], key_prefix: str, lease: float, owner: str = "") -> None:
        self._redis = redis
        self.owner = owner
        """The replica taking locks (as its step records say), kept in each lock for whoever reads it."""
        self._prefix = f"{key_prefix}target:"
        self.lease = lease
        self._acquire: Any = None
        self._keep: Any = None

    def _keys(self, targets: tuple[str, ...]) -> list[str]:
        return [self._prefix + t for t in targets]

    async def acquire(self, targets: tuple[str, ...], action: str, command: str, person: str) -> Holder | None:
        """Take every target for `action`; None when taken (or already ours), else who holds one."""
        if not targets:
            return None
        if self._acquire is None:
            self._acquire = self._redis().register_script(_ACQUIRE)
        record = json.dumps(
            {"action": action, "command": command, "person": person, "since": time.time(), "owner": self.owner}
        )
        keys = self._keys(targets)
        answer = await asyncio.wait_for(
            self._acquire(keys=keys, args=[record, int(self.lease * 1000), action]), STORE_TIMEOUT
        )
        first = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
        if first == "ok":
            return None
        return self._holder(first.removeprefix(self._prefix), answer[1])

    async def holders(self, targets: tuple[str, ...]) -> list[Holder]:
        """Who holds any of `targets` now (for a preview)."""
        if not targets:
            return []
        raws = await asyncio.wait_for(self._redis().mget(self._keys(targets)), STORE_TIMEOUT)
        return [self._holder(t, raw) for t, raw in zip(targets, raws, strict=True) if raw]

    async def _keep_or_release(self, targets: tuple[str, ...], action: str, ms: int) -> int:
        if self._keep is None:
            self._keep = self._redis().register_script(_KEEP_OR_RELEASE)
        answer = await asyncio.wait_for(self._keep(keys=self._keys(targets), args=[action, ms]), STORE_TIMEOUT)
        return int(answer)

    async def release(self, targets: tuple[str, ...], action: str) -> None:
        """Give the targets back; a failure is logged (the lease then frees them)."""
        if not targets:
            return
        try:
            await self._keep_or_release(targets, action, 0)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("targets %s of %s not released (their lease frees them): %s", targets, action, short_error(exc))

    async def keep(self, targets: tuple[str, ...], action: str) -> None:
        """Renew the targets' lease every third of it until cancelled; failures are logged, never fatal."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self._keep_or_release(targets, action, int(self.lease * 1000))
            except (RedisError, OSError, TimeoutError) as exc:
                stop_if_cancelled()
                log.warning("lease of targets %s not renewed: %s", targets, short_error(exc))
            stop_if_cancelled()

    @staticmethod
    def _holder(target: str, raw: Any) -> Holder:
        try:
            record = json.loads(raw)
        except (TypeError, ValueError):
            record = {}
        return Holder(
            target=target,
            action=str(record.get("action", "?")),
            command=str(record.get("command", "?")),
            person=str(record.get("person", "?")),
            since=float(record.get("since") or 0.0),
        )
