"""A terminal session hears of decisions on the steps its user asked for, as they happen.

When a second admin approves or turns down a critical step (from another terminal or from
Slack), the confirmation flow publishes a `Decision` on the user's channel of the bot's Redis
(bot/core/confirmations.py). The shell listens there for the whole session and prints each
one at once (above the prompt in a terminal). Pub/sub keeps nothing for a listener that was
away: a Redis hiccup is retried, and what was published meanwhile is in `/ops audit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError

from bot.core.confirmations import Decision, decisions_channel
from bot.text.messages import Catalog

log = logging.getLogger(__name__)

RETRY = 2.0
"""Seconds between attempts to listen again after Redis went away."""
READ_TIMEOUT = 5.0


async def listen_for_decisions(
    redis: aioredis.Redis, redis_prefix: str, user_id: str, t: Catalog, say: Callable[[str], None]
) -> None:
    """Print each decision on `user_id`'s steps until cancelled."""
    channel = decisions_channel(redis_prefix, user_id)
    while True:
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=READ_TIMEOUT)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    notice = Decision.model_validate_json(message["data"])
                except ValidationError:
                    log.warning("a decision notice that is not one was ignored")
                    continue
                say(t(f"confirm.told.{notice.decision}", by=notice.by, command=notice.command))
        except (RedisError, OSError) as exc:
            log.info("decisions for %s: %s; listening again in %gs", user_id, type(exc).__name__, RETRY)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
        await asyncio.sleep(RETRY)
