"""Socket Mode's connection to Slack: opened with clear failures, closed promptly.

slack_sdk's client, left to itself, treats every failure of `apps.connections.open` alike:
a token Slack refuses (`invalid_auth`, a bot token where the app-level token belongs) is
retried every ten seconds forever, each time with a traceback and never the error code.
Here Slack's answer is read: a refusal is a configuration mistake, so `ops-bot socket` says
which in one line and exits; a 429, a 5xx or an unreachable Slack is retried with a bounded
backoff and one log line per attempt. The same rule holds for the client's later
reconnections (a refused token then stops the process too, through `refused`).

Closing is bounded as well: aiohttp waits up to ten seconds for the peer's answer to the
WebSocket close frame, which is Docker's whole stop grace. The bot has nothing left to say
to Slack by then, so after CLOSE_TIMEOUT it drops the connection.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

OPEN_TIMEOUT = 10.0
"""Seconds one `apps.connections.open` call may take."""
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
"""Seconds between attempts while Slack is unreachable: doubling from FIRST_BACKOFF up to this."""
CLOSE_TIMEOUT = 1.0
"""Seconds to wait for Slack's answer to the WebSocket close before dropping the connection."""

TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
"""Slack error codes that say "try again"; any other `ok: false` answer is a refusal."""


class SocketRefused(Exception):
    """Slack refused to open a Socket Mode connection with this token: retrying cannot help."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1` (attempt counts from 0)."""
    return float(min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** min(attempt, 10)))


async def _open_once(client: AsyncWebClient, app_token: str) -> str:
    try:
        async with asyncio.timeout(OPEN_TIMEOUT):
            response = await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        status = exc.response.status_code
        error = str(exc.response.get("error") or f"HTTP {status}")
        if status == 429 or error == "ratelimited":
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
            raise _Transient(error, float(retry_after) if retry_after else None) from None
        if status >= 500 or error in TRANSIENT_ERRORS:
            raise _Transient(f"{error} (HTTP {status})") from None
        raise SocketRefused(error) from None
    except TimeoutError:
        raise _Transient(f"no answer within {OPEN_TIMEOUT:g}s") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise _Transient(type(exc).__name__) from None
    url = response.get("url")
    if not url:
        raise _Transient("no url in the answer")
    return str(url)


async def open_url(client: AsyncWebClient, app_token: str) -> str:
    """A WebSocket URL from `apps.connections.open`, retrying while Slack cannot answer.

    Raises SocketRefused as soon as Slack says no to the token itself."""
    attempt = 0
    while True:
        try:
            return await _open_once(client, app_token)
        except _Transient as exc:
            delay = exc.retry_after if exc.retry_after is not None else backoff(attempt)
            log.warning("Socket Mode: apps.connections.open failed (%s); retrying in %gs", exc.reason, delay)
            attempt += 1
            await asyncio.sleep(delay)


def opening_client(base_url: str) -> AsyncWebClient:
    """A client without the SDK's own sleeping retries: `open_url` decides when to try again."""
    client = AsyncWebClient(base_url=base_url, timeout=int(OPEN_TIMEOUT))
    client.retry_handlers.clear()
    return client


@dataclass
class SocketConnection:
    """One Socket Mode connection of a bolt AsyncSocketModeHandler, opened by `open_url`."""

    handler: Any
    app_token: str
    client: AsyncWebClient
    refused: asyncio.Future[SocketRefused] = field(init=False)

    def __post_init__(self) -> None:
        self.refused = asyncio.get_running_loop().create_future()
        self.handler.client.issue_new_wss_url = self._reconnect_url  # the SDK's reconnections ask us

    async def _reconnect_url(self) -> str:
        try:
            return await open_url(self.client, self.app_token)
        except SocketRefused as exc:
            self._give_up(exc)
            raise

    def _give_up(self, exc: SocketRefused) -> None:
        # the SDK's connect loop returns quietly, instead of retrying, once its client is closed
        self.handler.client.closed = True
        if not self.refused.done():
            self.refused.set_result(exc)

    async def connect(self) -> None:
        """Open the connection; SocketRefused when Slack refuses the token."""
        self.handler.client.wss_uri = await open_url(self.client, self.app_token)
        await self.handler.connect_async()

    async def close(self) -> None:
        """Close the WebSocket, dropping it when Slack does not answer the close within CLOSE_TIMEOUT."""
        sdk = self.handler.client
        sdk.closed = True
        sdk.auto_reconnect_enabled = False
        try:
            await asyncio.wait_for(sdk.close(), CLOSE_TIMEOUT)
        except TimeoutError:
            log.info("Socket Mode: Slack did not answer the close within %gs; connection dropped", CLOSE_TIMEOUT)
            for task in (sdk.message_processor, sdk.current_session_monitor, sdk.message_receiver):
                if task is not None:
                    task.cancel()
            await sdk.aiohttp_client_session.close()
        except Exception as exc:
            log.info("Socket Mode: closing the connection: %s", type(exc).__name__)
        session = self.client.session
        if session is not None and not session.closed:
            await session.close()
