"""Every Slack request runs at most once: replays are refused, Slack's own redeliveries dropped.

Two things look alike and are told apart here:

* a **replay** is the very same signed request (same timestamp and signature) delivered
  again: someone who captured it, or a proxy that repeats. Slack never does this, so it is
  refused with 401 and nothing runs. A signature stays acceptable for 5 minutes either side
  of its timestamp, so it is remembered for `SIGNATURE_TTL` (10 min).
* a **redelivery** is Slack sending a request again because our ack was late
  (`X-Slack-Retry-Num`, or a Socket Mode envelope with `retry_attempt` or the same
  `envelope_id`). Slack signs it anew, so it is recognised by its content: the event id, the
  click's trigger_id and action_ts, or for a slash command (which has no id of its own) a
  hash of team, user, channel, command, text and trigger_id. It is answered 200 and not run
  again.

Both are remembered in the bot's Redis (SET NX EX under REDIS_PREFIX), so a redelivery that
reaches another replica is caught too, and in a small in-process memory that answers only
while Redis cannot.

When the bot's Redis is down or slow, this **fails open**: the request runs, and only the
in-process memory catches a duplicate (one that reaches the same replica). Failing closed
would refuse every command, `/ops status` included, exactly while a part of the system is
down; and what a duplicate could do is bounded elsewhere: a destructive step needs a
confirmation, whose state machine lives in the same Redis and refuses while it is down
(bot/core/confirmations.py), so a duplicate can at worst show a read-only answer twice or repeat
an idempotent write (start, up). After a failure, Redis is skipped for `PAUSE` seconds, so a
hung Redis costs one short wait per pause and never the 3 s ack budget.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SIGNATURE_TTL = 600
"""Seconds a signature is remembered: a timestamp is accepted up to 5 min either side of now."""
CONTENT_TTL = 3600
"""Seconds a request's content is remembered: Slack retries within about an hour at most."""
TIMEOUT = 0.5
"""The longest an ack waits on Redis before running the request anyway."""
PAUSE = 5.0
"""After Redis failed, seconds during which only the in-process memory is used."""
LOCAL_SIZE = 10_000

Verdict = Literal["new", "replay", "duplicate"]

_CLAIM_ALL = """
local first = {}
for i = 1, #KEYS do
  first[i] = redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[i]) and 1 or 0
end
return first
"""
"""SET NX EX for every key of a burst in one command: one reply to parse instead of one per key
(for 400 keys, about 1.6 ms of the acking loop's time instead of 7.5 ms through a pipeline)."""


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, ensure_ascii=False).encode()).hexdigest()[:40]


def _first(headers: Mapping[str, Any], name: str) -> str | None:
    """A header value from bolt's normalized headers (lower-case names, list values) or a plain dict."""
    value = headers.get(name)
    if isinstance(value, Sequence) and not isinstance(value, str):
        value = value[0] if value else None
    return str(value) if value else None


def signature_of(headers: Mapping[str, Any]) -> str | None:
    """What makes one signed HTTP request unique: its timestamp and signature (None in Socket Mode)."""
    timestamp = _first(headers, "x-slack-request-timestamp")
    signature = _first(headers, "x-slack-signature")
    if not timestamp or not signature:
        return None
    return _digest(timestamp, signature)


def content_of(body: Mapping[str, Any]) -> str | None:
    """What stays the same when Slack delivers one request again; None when nothing does."""
    if body.get("event_id"):
        return _digest("event", body["event_id"])
    trigger = body.get("trigger_id")
    if not trigger:
        return None
    if body.get("command"):
        return _digest(
            "command",
            body.get("team_id"),
            body.get("user_id"),
            body.get("channel_id"),
            body.get("command"),
            body.get("text"),
            trigger,
        )
    kind = body.get("type")
    team = (body.get("team") or {}).get("id") if isinstance(body.get("team"), dict) else body.get("team_id")
    user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else body.get("user_id")
    actions = body.get("actions")
    stamps = [a.get("action_ts") for a in actions if isinstance(a, dict)] if isinstance(actions, list) else []
    return _digest("interaction", kind, team, user, trigger, stamps)


class Deduper:
    """Remembers requests in the bot's Redis (shared by replicas) and, as a fallback, in memory.

    Lives on the loop that acks (it has a Redis client of its own for that reason: the
    worker loop's clients cannot be used from another loop).
    """

    def __init__(
        self,
        redis: aioredis.Redis | None,
        prefix: str,
        *,
        timeout: float = TIMEOUT,
        pause: float = PAUSE,
        local_size: int = LOCAL_SIZE,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.timeout = timeout
        self.pause = pause
        self.local_size = local_size
        self._local: OrderedDict[str, float] = OrderedDict()
        self._skip_until = 0.0
        self._waiting: list[tuple[list[tuple[str, int]], asyncio.Future[list[bool] | None]]] = []
        self._flush_planned = False
        self._claim_all = redis.register_script(_CLAIM_ALL) if redis is not None else None

    @classmethod
    def connect(cls, url: str, prefix: str) -> Deduper:
        """A Deduper with its own small Redis client whose every wait is shorter than an ack allows."""
        # Blocking pool: a burst of acks waits briefly for a connection instead of failing as "too many".
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=64, timeout=TIMEOUT, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        return cls(aioredis.Redis.from_pool(pool), prefix)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    def key(self, kind: str, token: str) -> str:
        return f"{self.prefix}seen:{kind}:{token}"

    # ---- the in-process memory ------------------------------------------------------------

    def _seen_here(self, key: str, now: float) -> bool:
        expires = self._local.get(self._short(key))
        return expires is not None and expires > now

    def _remember_here(self, key: str, ttl: int, now: float) -> None:
        short = self._short(key)
        self._local[short] = now + ttl
        self._local.move_to_end(short)
        while len(self._local) > self.local_size:
            self._local.popitem(last=False)

    def _short(self, key: str) -> str:
        """The key without the prefix all keys share: the memory holds `local_size` of them for good."""
        return key[len(self.prefix) :]

    # ---- the shared memory ----------------------------------------------------------------

    async def _claim(self, claims: list[tuple[str, int]]) -> list[bool] | None:
        """SET NX EX for each key: True where this call was first; None if Redis failed.

        Requests that arrive together share one script call: a burst of acks then costs one
        round trip and one reply through the client instead of one each, which is what the
        acks of the other requests were waiting behind.
        """
        if self.redis is None or time.monotonic() < self._skip_until:
            return None
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[bool] | None] = loop.create_future()
        self._waiting.append((claims, answer))
        if not self._flush_planned:
            self._flush_planned = True
            loop.call_soon(lambda: loop.create_task(self._flush()))
        return await answer

    async def _flush(self) -> None:
        batch, self._waiting = self._waiting, []
        self._flush_planned = False
        assert self._claim_all is not None
        keys = [key for claims, _ in batch for key, _ in claims]
        ttls = [ttl for claims, _ in batch for _, ttl in claims]
        try:
            answers = await asyncio.wait_for(self._claim_all(keys=keys, args=ttls), self.timeout)
        except (RedisError, OSError, TimeoutError) as exc:
            if time.monotonic() >= self._skip_until:
                log.warning(
                    "duplicate check without the bot's Redis for %gs (%s): running requests as they come",
                    self.pause,
                    type(exc).__name__,
                )
            self._skip_until = time.monotonic() + self.pause
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_result(None)
            return
        start = 0
        for claims, waiter in batch:
            if not waiter.done():
                waiter.set_result([bool(a) for a in answers[start : start + len(claims)]])
            start += len(claims)

    async def check(self, signature: str | None, content: str | None) -> Verdict:
        """`replay` if this exact signed request came before, `duplicate` if its content did, else `new`."""
        claims: list[tuple[str, int]] = []
        kinds: list[Verdict] = []
        if signature:
            claims.append((self.key("sig", signature), SIGNATURE_TTL))
            kinds.append("replay")
        if content:
            claims.append((self.key("req", content), CONTENT_TTL))
            kinds.append("duplicate")
        if not claims:
            return "new"
        now = time.monotonic()
        first = await self._claim(claims)
        if first is None:  # Redis unreachable: this process's own memory is all there is
            first = [not self._seen_here(key, now) for key, _ in claims]
        verdict: Verdict = "new"
        for was_first, kind in zip(first, kinds, strict=True):
            if not was_first:
                verdict = kind
                break
        for key, ttl in claims:
            self._remember_here(key, ttl, now)
        return verdict

    async def first_envelope(self, envelope_id: str | None) -> bool:
        """False when this Socket Mode envelope was handled already (Slack sent it again)."""
        if not envelope_id:
            return True
        return await self.check(None, _digest("envelope", envelope_id)) == "new"
