"""Bolt's side of bot/slack/dedupe.py: a global middleware and a Socket Mode handler that run each
Slack request at most once.

The middleware sits after bolt's own request verification, so only requests that carry a
valid, fresh signature are remembered (a forged request cannot plant a key). It answers a
replay with 401 and a redelivery with an empty 200 before any listener acks or runs.
The Socket Mode handler acks an envelope it has already handled without handing it to bolt.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack.dedupe import Deduper, Verdict, content_of, signature_of

log = logging.getLogger(__name__)

OnVerdict = Callable[[Verdict], None]


def install_dedupe(app: AsyncApp, deduper: Deduper, on_verdict: OnVerdict | None = None) -> None:
    """Add the replay/redelivery check to `app` as a global middleware."""

    async def once(req: AsyncBoltRequest, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        signature = signature_of(req.headers) if req.mode == "http" else None
        verdict = await deduper.check(signature, content_of(body))
        if on_verdict is not None:
            on_verdict(verdict)
        if verdict == "replay":
            log.warning("refused a replayed request (same timestamp and signature as one already handled)")
            return BoltResponse(status=401, body="")
        if verdict == "duplicate":
            retry = (req.headers.get("x-slack-retry-num") or ["-"])[0]
            log.info("dropped a redelivery (retry %s) of a request already handled", retry)
            return BoltResponse(status=200, body="")
        return await next()

    app.middleware(once)


def socket_mode_handler(app: AsyncApp, app_token: str, web_client: Any, deduper: Deduper) -> Any:
    """bolt's AsyncSocketModeHandler whose listener acks an envelope seen before and runs nothing."""
    handler = AsyncSocketModeHandler(app, app_token, web_client=web_client)
    handle = handler.handle

    async def handle_once(client: Any, req: Any) -> None:
        if not await deduper.first_envelope(getattr(req, "envelope_id", None)):
            log.info("acked envelope %s again without running it (already handled)", req.envelope_id)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        await handle(client, req)

    handler.client.socket_mode_request_listeners[:] = [handle_once]
    return handler
