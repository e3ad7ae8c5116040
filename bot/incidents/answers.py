"""An answer to a command that Slack could not take when it was ready, sent from the durable queue.

When every way of answering failed (bot/slack/answer.py: the response_url, then the Web API),
the answer is written as an `answer` step of the escalation queue (the bot's Postgres), so it
survives a Slack outage, a restart, and is sent once by whichever replica claims it. The
worker waits for Slack with every other step (one circuit, one probe) and then:

- while the command's response_url lives (Slack honours it for 30 minutes after the command,
  RESPONSE_URL_LIFETIME), the answer goes through it, as it would have at the time;
- after that (or when Slack refuses the link: expired, used up), it goes by DM to the person,
  under a line saying when it was ready and why it comes this way.

A 5xx or a refused connection is Slack being away (NotifyFailed unavailable); a 429 waits for
its Retry-After. A response_url POST whose answer never came (timeout) may have been delivered:
it is sent again (a response_url cannot be read back), which can show an answer twice, never none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.incidents.notify import Notifier, NotifyFailed, RetryLater
from bot.output.results import Result, Text
from bot.output.slack import escape
from bot.text import times
from bot.text.messages import Catalog

RESPONSE_URL_LIFETIME = timedelta(minutes=30)
"""How long Slack accepts posts to a command's response_url."""
RESPONSE_URL_TIMEOUT = 10.0

PostOnce = Callable[[str, Result], Awaitable[str]]


def answer_step(
    response_url: str,
    payload: dict[str, Any],
    user: str,
    channel: str | None,
    command: str,
    dm_text: str,
    asked_at: datetime,
) -> dict[str, Any]:
    """The queued step's payload: what to post where, and until when the response_url lives."""
    return {
        "response_url": response_url,
        "payload": payload,
        "user": user,
        "channel": channel,
        "command": command,
        "dm_text": dm_text,
        "asked_at": asked_at.isoformat(),
        "expires_at": (asked_at + RESPONSE_URL_LIFETIME).isoformat(),
    }


async def _via_response_url(http: aiohttp.ClientSession, url: str, payload: dict[str, Any]) -> bool:
    """True when Slack took it; False when Slack refused the link for good (expired, used up)."""
    try:
        async with asyncio.timeout(RESPONSE_URL_TIMEOUT):
            async with http.post(url, json=payload) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                await response.read()
    except TimeoutError:
        raise NotifyFailed("response_url: no answer in time", unavailable=True, unknown=True) from None
    except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
        raise NotifyFailed(f"response_url: {type(exc).__name__}", unavailable=True) from None
    except (aiohttp.ClientError, OSError) as exc:
        raise NotifyFailed(f"response_url: {type(exc).__name__}", unavailable=True, unknown=True) from None
    if status < 300:
        return True
    if status == 429:
        raise RetryLater(float(retry_after or 1))
    if status >= 500:
        raise NotifyFailed(f"response_url: HTTP {status}", unavailable=True)
    return False


async def send_answer(
    http: aiohttp.ClientSession,
    notifier: Notifier,
    step: dict[str, Any],
    now: datetime,
    t: Catalog,
    tz_name: str,
    post_once: PostOnce,
) -> dict[str, Any]:
    """Deliver one held answer; returns how it went (the step's result)."""
    if now < datetime.fromisoformat(str(step["expires_at"])) and await _via_response_url(
        http, str(step["response_url"]), dict(step["payload"])
    ):
        return {"via": "response_url"}
    asked = datetime.fromisoformat(str(step["asked_at"]))
    intro = t("answer.held_dm", command=escape(str(step["command"])), when=times.labelled(asked, times.zone(tz_name)))
    dm = await notifier.open_dm(str(step["user"]))
    told = Result(title="", blocks=[Text(intro, markup=True), Text(str(step["dm_text"]), markup=True)])
    return {"via": "dm", "dm": dm, "ts": await post_once(dm, told)}
