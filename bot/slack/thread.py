"""`ctx.thread` for Slack: a message in the command's channel and replies under it.

The response_url cannot open a thread (it answers at most five times and knows no
thread_ts), so a thread is written with the bot token through the Web API:
chat.postMessage for the first message, chat.postMessage with thread_ts for replies, and
files_upload_v2 with thread_ts for files. The bot must be able to post in the channel
(a member, or chat:write.public for public channels); when Slack refuses, ThreadError
carries Slack's reason so the operation can tell the user instead of streaming into
nothing. The client's own rate-limit handler waits out a 429 before the error surfaces.

A hiccup is not a refusal: an HTTP 5xx (or a 429 still there after the client's retries), a
dropped connection (aiohttp's ServerDisconnectedError is a ClientError, not an OSError) or a
timeout is retried, ATTEMPTS times in all with BACKOFF between them, before ThreadError.
A post retried after a dropped connection may show twice; that is the price of not losing
it. Slack's own refusals (`not_in_channel`, `channel_not_found`…) are not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.threads import ThreadError
from bot.output.results import Attachment, Result
from bot.output.slack import render_slack

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 4
BACKOFF = (0.5, 1.0, 2.0)
_FAILURES = (SlackClientError, aiohttp.ClientError, OSError, TimeoutError)


def _why(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "error")
    return type(exc).__name__


def _transient(exc: Exception) -> bool:
    """Worth another try: Slack's side failed or the connection did, not a refusal."""
    if isinstance(exc, SlackApiError):
        return int(exc.response.status_code or 0) >= 500 or exc.response.status_code == 429
    return True


async def _retried(what: str, call: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(ATTEMPTS):
        try:
            return await call()
        except _FAILURES as exc:
            if not _transient(exc) or attempt + 1 >= ATTEMPTS:
                raise ThreadError(f"{what}: {_why(exc)}") from None
            wait = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            log.info("%s failed (%s); retry %d in %.1fs", what, _why(exc), attempt + 1, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


class SlackThread:
    """One thread in `channel`; the handle is the parent message's ts."""

    def __init__(self, client: AsyncWebClient, channel: str) -> None:
        self.client = client
        self.channel = channel

    async def _post(self, result: Result, thread_ts: str | None) -> str:
        message = render_slack(result)
        args: dict[str, Any] = {"channel": self.channel, "text": message.text, "blocks": message.blocks}
        if thread_ts:
            args["thread_ts"] = thread_ts
        response = await _retried("chat.postMessage", lambda: self.client.chat_postMessage(**args))
        for attachment in message.files:  # a block too long for a message goes up as a file
            await self.attach(thread_ts or str(response["ts"]), attachment)
        return str(response["ts"])

    async def start(self, result: Result) -> str:
        return await self._post(result, None)

    async def reply(self, handle: str, result: Result) -> None:
        await self._post(result, handle)

    async def attach(self, handle: str, attachment: Attachment) -> None:
        await _retried(
            "files_upload_v2",
            lambda: self.client.files_upload_v2(
                channel=self.channel,
                thread_ts=handle,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title or attachment.filename,
            ),
        )
