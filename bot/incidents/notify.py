"""Messages the bot sends on its own (pages, incident threads), with failures made explicit.

Unlike replies to a command, these are sent by the escalation worker from its durable
queue, so a failure must come back as a decision, not a sleep: `RetryLater` (Slack said
429: try again after Retry-After) or `NotifyFailed`, which says what kind of failure it was:
`permanent` (Slack refused for good: user_not_found, not_in_channel, ...: retrying cannot
help), `unavailable` (Slack as a whole did not answer: the worker waits for it once, for
every step, instead of each step backing off on its own) and `unknown` (the request may
have reached Slack: a timeout or a dropped connection after sending is "maybe delivered",
never "not delivered"). Nothing here ever reports a message as sent when Slack did not
confirm it. When the read-back of such a message cannot tell either, the worker says
`DeliveryUnconfirmed` rather than failed or sent (docs/reliability.md).

Every message a step posts carries the step's marker in Slack's message `metadata`
(`event_type` opsbot_step, `event_payload` {steps, part}); `find` reads the channel or the
thread back (conversations.history / conversations.replies with include_all_metadata) so a
step whose last attempt has an unknown outcome is looked for before it is sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.output.markers import has_marker
from bot.output.results import Result, redact_result
from bot.output.slack import render_slack

SLACK_TIMEOUT = 10.0


class RetryLater(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited; retry after {seconds:g}s")
        self.seconds = seconds


PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "channel_not_found",
        "cannot_dm_bot",
        "invalid_auth",
        "is_archived",
        "missing_scope",
        "msg_too_long",
        "no_permission",
        "not_allowed_token_type",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "team_access_not_granted",
        "token_revoked",
        "user_disabled",
        "user_not_found",
        "user_not_visible",
        "users_not_found",
    }
)
"""Slack errors that the same call will meet again however often it is retried."""


class NotifyFailed(Exception):
    """A message not confirmed by Slack; the flags say what the worker should do about it."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        permanent: bool = False,
        unavailable: bool = False,
        unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent
        self.unavailable = unavailable
        self.unknown = unknown


class DeliveryUnconfirmed(Exception):
    """A message whose first answer never came and whose read-back cannot tell whether it
    arrived (missing_scope, a timeout, a 5xx, however often it was tried): neither failed
    nor to be sent again blindly. The message says why the read-back could not tell."""


class Notifier(Protocol):
    async def post(
        self, channel: str, result: Result, thread_ts: str | None = None, meta: dict[str, Any] | None = None
    ) -> str: ...

    async def find(self, channel: str, thread_ts: str | None, step: int, part: str) -> str | None: ...

    async def probe(self) -> None: ...

    async def update(self, channel: str, ts: str, result: Result) -> None: ...

    async def open_dm(self, user_id: str) -> str: ...

    async def set_usergroup(self, usergroup: str, users: list[str]) -> None: ...

    async def publish_home(self, user_id: str, result: Result) -> None: ...


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

    async def _call(self, method: str, read: bool = False, **kwargs: Any) -> dict[str, Any]:
        """One Web API call; reads go as GET parameters (Slack takes JSON bodies for writes only)."""
        self._keep_alive()
        try:
            async with asyncio.timeout(SLACK_TIMEOUT):  # no task per call, unlike wait_for
                if read:
                    response = await self.client.api_call(method, http_verb="GET", params=kwargs)
                else:
                    response = await self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after") or 1
                raise RetryLater(float(retry_after)) from None
            code = str(exc.response.get("error", "error"))
            raise NotifyFailed(
                f"{method}: {code}", code=code, permanent=code in PERMANENT_ERRORS, unavailable=status >= 500
            ) from None
        except TimeoutError:
            raise NotifyFailed(
                f"{method}: no answer within {SLACK_TIMEOUT:g}s", unavailable=True, unknown=True
            ) from None
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
            raise NotifyFailed(f"{method}: {type(exc).__name__}", unavailable=True) from None
        except (aiohttp.ClientError, OSError) as exc:  # the connection dropped: maybe after Slack took it
            raise NotifyFailed(f"{method}: {type(exc).__name__}", unavailable=True, unknown=True) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def probe(self) -> None:
        """One cheap call that says whether Slack answers again (NotifyFailed if not)."""
        await self._call("auth.test")

    async def find(self, channel: str, thread_ts: str | None, step: int, part: str) -> str | None:
        """The ts of the message `step` already posted as `part` in the channel (or thread), if any."""
        if thread_ts:
            data = await self._call(
                "conversations.replies", read=True, channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
            )
        else:
            data = await self._call(
                "conversations.history", read=True, channel=channel, include_all_metadata=True, limit=100
            )
        for message in data.get("messages") or []:
            if isinstance(message, dict) and has_marker(message, step, part):
                return str(message.get("ts"))
        return None

    async def post(
        self, channel: str, result: Result, thread_ts: str | None = None, meta: dict[str, Any] | None = None
    ) -> str:
        message = render_slack(result)
        args: dict[str, Any] = {"channel": channel, "text": message.text, "blocks": message.blocks}
        if thread_ts:
            args["thread_ts"] = thread_ts
        if meta:
            args["metadata"] = meta
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

    async def set_usergroup(self, usergroup: str, users: list[str]) -> None:
        """usergroups.users.update: the group becomes exactly `users` (an on-call rota's group)."""
        await self._call("usergroups.users.update", usergroup=usergroup, users=",".join(users))

    async def publish_home(self, user_id: str, result: Result) -> None:
        """views.publish: the person's App Home tab becomes `result` (Block Kit, within Slack's limits)."""
        message = render_slack(result)
        await self._call("views.publish", user_id=user_id, view={"type": "home", "blocks": message.blocks})


class RedactingNotifier:
    """A Notifier whose every message passes the redactor first: pages and incident threads
    quote what people typed (titles, notes), and nothing the bot sends may carry a secret."""

    def __init__(self, inner: Notifier, redact: Callable[[str], str]) -> None:
        self.inner = inner
        self.redact = redact

    async def post(
        self, channel: str, result: Result, thread_ts: str | None = None, meta: dict[str, Any] | None = None
    ) -> str:
        if meta is None:  # a notifier of the scheduler's kind may know no metadata
            return await self.inner.post(channel, redact_result(result, self.redact), thread_ts)
        return await self.inner.post(channel, redact_result(result, self.redact), thread_ts, meta)

    async def find(self, channel: str, thread_ts: str | None, step: int, part: str) -> str | None:
        return await self.inner.find(channel, thread_ts, step, part)

    async def probe(self) -> None:
        await self.inner.probe()

    async def update(self, channel: str, ts: str, result: Result) -> None:
        await self.inner.update(channel, ts, redact_result(result, self.redact))

    async def open_dm(self, user_id: str) -> str:
        return await self.inner.open_dm(user_id)

    async def set_usergroup(self, usergroup: str, users: list[str]) -> None:
        await self.inner.set_usergroup(usergroup, users)

    async def publish_home(self, user_id: str, result: Result) -> None:
        await self.inner.publish_home(user_id, redact_result(result, self.redact))

    async def upload(self, channel: str, thread_ts: str | None, filename: str, content: bytes, title: str) -> None:
        upload = getattr(self.inner, "upload", None)
        if upload is not None:
            await upload(channel, thread_ts, filename, content, self.redact(title))


def slack_client_for_notices(base_url: str, token: str) -> AsyncWebClient:
    """A client with no retry handlers: the worker decides when to retry."""
    client = AsyncWebClient(token=token, base_url=base_url, timeout=int(SLACK_TIMEOUT))
    client.retry_handlers.clear()
    return client
