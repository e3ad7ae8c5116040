"""`ctx.thread` for Slack: a message in the command's channel and replies under it.

The response_url cannot open a thread (it answers at most five times and knows no
thread_ts), so a thread is written with the bot token through the Web API:
chat.postMessage for the first message, chat.postMessage with thread_ts for replies, and
files_upload_v2 with thread_ts for files. The bot must be able to post in the channel
(a member, or chat:write.public for public channels); when Slack refuses, ThreadError
carries Slack's reason so the operation can tell the user instead of streaming into
nothing. The client's own rate-limit handler waits out a 429 before the error surfaces.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render_slack import render_slack
from bot.results import Attachment, Result
from bot.threads import ThreadError


def _why(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "error")
    return type(exc).__name__


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
        try:
            response = await self.client.chat_postMessage(**args)
        except (SlackApiError, OSError, TimeoutError) as exc:
            raise ThreadError(f"chat.postMessage: {_why(exc)}") from None
        for attachment in message.files:  # a block too long for a message goes up as a file
            await self.attach(thread_ts or str(response["ts"]), attachment)
        return str(response["ts"])

    async def start(self, result: Result) -> str:
        return await self._post(result, None)

    async def reply(self, handle: str, result: Result) -> None:
        await self._post(result, handle)

    async def attach(self, handle: str, attachment: Attachment) -> None:
        try:
            await self.client.files_upload_v2(
                channel=self.channel,
                thread_ts=handle,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title or attachment.filename,
            )
        except (SlackApiError, OSError, TimeoutError) as exc:
            raise ThreadError(f"files_upload_v2: {_why(exc)}") from None
