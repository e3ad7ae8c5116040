"""Messages the bot sends on its own (pages, incident threads), with failures made explicit.

Unlike replies to a command, these are sent by the escalation worker from its durable
queue, so a failure must come back as a decision, not a sleep: `RetryLater` (Slack said
429: try again after Retry-After) or `NotifyFailed` (anything else: back off and retry).
Nothing here ever reports a message as sent when Slack did not confirm it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render_slack import render_slack
from bot.results import Result, redact_result

SLACK_TIMEOUT = 10.0


class RetryLater(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited; retry after {seconds:g}s")
        self.seconds = seconds


class NotifyFailed(Exception):
    pass


class Notifier(Protocol):
    async def post(self, channel: str, result: Result, thread_ts: str | None = None) -> str: ...

    async def update(self, channel: str, ts: str, result: Result) -> None: ...

    async def open_dm(self, user_id: str) -> str: ...


class SlackNotifier:
    """Posts through the Web API (SLACK_API_URL), without the client's own sleeping retries."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._dm_channels: dict[str, str] = {}  # a user's DM channel never changes

    def _keep_alive(self) -> None:
        """One pooled session for every call, made in the loop that sends: without it the SDK
        opens a new session and TCP connection per call, which a burst of pages pays for."""
        if self.client.session is None or self.client.session.closed:
            self.client.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))

    async def close(self) -> None:
        if self.client.session is not None and not self.client.session.closed:
            await self.client.session.close()

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        self._keep_alive()
        try:
            async with asyncio.timeout(SLACK_TIMEOUT):  # no task per call, unlike wait_for
                response = await self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after") or 1
                raise RetryLater(float(retry_after)) from None
            raise NotifyFailed(f"{method}: {exc.response.get('error', 'error')}") from None
        except TimeoutError:
            raise NotifyFailed(f"{method}: no answer within {SLACK_TIMEOUT:g}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise NotifyFailed(f"{method}: {type(exc).__name__}") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def post(self, channel: str, result: Result, thread_ts: str | None = None) -> str:
        message = render_slack(result)
        args: dict[str, Any] = {"channel": channel, "text": message.text, "blocks": message.blocks}
        if thread_ts:
            args["thread_ts"] = thread_ts
        data = await self._call("chat.postMessage", **args)
        ts = data.get("ts")
        if not ts:
            raise NotifyFailed("chat.postMessage: no ts in the answer")
        return str(ts)

    async def update(self, channel: str, ts: str, result: Result) -> None:
        message = render_slack(result)
        await self._call("chat.update", channel=channel, ts=ts, text=message.text, blocks=message.blocks)

    async def upload(self, channel: str, thread_ts: str | None, filename: str, content: bytes, title: str) -> None:
        """A file into a channel or thread (files_upload_v2), for an alert's chart."""
        self._keep_alive()
        try:
            async with asyncio.timeout(SLACK_TIMEOUT * 3):  # three calls: get URL, upload, complete
                await self.client.files_upload_v2(
                    channel=channel, thread_ts=thread_ts, filename=filename, content=content, title=title
                )
        except SlackApiError as exc:
            raise NotifyFailed(f"files_upload_v2: {exc.response.get('error', 'error')}") from None
        except TimeoutError:
            raise NotifyFailed("files_upload_v2: no answer in time") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise NotifyFailed(f"files_upload_v2: {type(exc).__name__}") from None

    async def open_dm(self, user_id: str) -> str:
        known = self._dm_channels.get(user_id)
        if known:
            return known
        data = await self._call("conversations.open", users=user_id)
        channel = (data.get("channel") or {}).get("id")
        if not channel:
            raise NotifyFailed("conversations.open: no channel in the answer")
        self._dm_channels[user_id] = str(channel)
        return str(channel)


class RedactingNotifier:
    """A Notifier whose every message passes the redactor first: pages and incident threads
    quote what people typed (titles, notes), and nothing the bot sends may carry a secret."""

    def __init__(self, inner: Notifier, redact: Callable[[str], str]) -> None:
        self.inner = inner
        self.redact = redact

    async def post(self, channel: str, result: Result, thread_ts: str | None = None) -> str:
        return await self.inner.post(channel, redact_result(result, self.redact), thread_ts)

    async def update(self, channel: str, ts: str, result: Result) -> None:
        await self.inner.update(channel, ts, redact_result(result, self.redact))

    async def open_dm(self, user_id: str) -> str:
        return await self.inner.open_dm(user_id)

    async def upload(self, channel: str, thread_ts: str | None, filename: str, content: bytes, title: str) -> None:
        upload = getattr(self.inner, "upload", None)
        if upload is not None:
            await upload(channel, thread_ts, filename, content, self.redact(title))


def slack_client_for_notices(base_url: str, token: str) -> AsyncWebClient:
    """A client with no retry handlers: the worker decides when to retry."""
    client = AsyncWebClient(token=token, base_url=base_url, timeout=int(SLACK_TIMEOUT))
    client.retry_handlers.clear()
    return client
