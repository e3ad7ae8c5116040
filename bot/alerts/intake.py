"""`POST /alerts/alertmanager` and `POST /alerts/grafana`: checked, bounded, recorded, answered fast.

The sender must present `Authorization: Bearer <alerts.token>` (compared in constant time);
anything else is 401 and nothing is recorded. A body over MAX_BODY is 413, a payload that
does not validate is 400 with a short reason; never a traceback. The answer waits only for
the group's row (one short transaction), so Alertmanager's 10 s timeout is never near; the
Slack message is the poster's job. With the bot's database down the answer is 503, so the
sender retries instead of the alert being dropped.

The body is read to its end, chunk by chunk, whatever pace it arrives at: one `read(n)` returns
only what has arrived so far, which turned a 320 KB payload or a trickling sender into a 400.
The limit is counted on the bytes received (a `Content-Length` is only an early 413, never
trusted). A body that stops short of its `Content-Length` for BODY_TIMEOUT (the sender lied or
stalled) is answered 400 "body incomplete" and nothing of it is parsed; BODY_TIMEOUT stays under
Alertmanager's own 10 s timeout so the answer reaches it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.alerts.payloads import BadPayload, parse
from bot.alerts.store import AlertStore

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
BODY_TIMEOUT = 8.0
_CHUNK = 64 * 1024
OnWorker = Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]]


def _json(code: int, **body: Any) -> web.Response:
    return web.Response(status=code, text=json.dumps(body), content_type="application/json")


def authorized(header: str | None, token: str) -> bool:
    expected = f"Bearer {token}".encode()
    return hmac.compare_digest((header or "").encode(), expected)


class BodyRefused(Exception):
    """The body cannot be used: too large (413) or incomplete (400); `code` and `reason` say which."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def read_body(request: web.Request, limit: int = MAX_BODY, timeout: float = BODY_TIMEOUT) -> bytes:
    """The whole body, read to EOF within `limit` bytes and `timeout` seconds, or BodyRefused."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyRefused(413, f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while chunk := await request.content.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise BodyRefused(413, f"body over {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        expected = f" of the {declared} its Content-Length announced" if declared is not None else ""
        raise BodyRefused(400, f"body incomplete: {size} bytes{expected} within {timeout:g} s") from None
    except (HttpProcessingError, ConnectionError) as exc:
        raise BodyRefused(400, f"body incomplete after {size} bytes: {type(exc).__name__}") from None
    return b"".join(chunks)


def add_alert_routes(app: web.Application, deps: Any, on_worker: OnWorker) -> None:
    """Mount the two endpoints; without `alerts:` in ops.yml they answer 404 with a reason.

    The poster hears of a change through the NOTIFY of the row's transaction, on every replica."""

    async def receive(source: Literal["alertmanager", "grafana"], request: web.Request) -> web.Response:
        alerts = deps.config.alerts
        if alerts is None:
            return _json(404, error="alerts are not configured (no alerts: in ops.yml)")
        if not authorized(request.headers.get("Authorization"), alerts.token):
            log.warning("alert webhook refused (%s): missing or wrong bearer token", source)
            return _json(401, error="missing or wrong bearer token")
        try:
            body = await read_body(request)
        except BodyRefused as refused:
            log.warning("alert webhook (%s) refused: %s", source, refused.reason)
            return _json(refused.code, error=refused.reason)
        try:
            group = parse(source, body)
        except BadPayload as exc:
            return _json(400, error=str(exc))
        channel = alerts.channel or deps.config.slack.incident_channel
        try:
            stored, changed = await on_worker(AlertStore(deps.db).record(source, group, channel))
        except Exception as exc:
            log.warning("alert webhook (%s) not recorded: %s", source, deps.redact(str(exc)))
            return _json(503, error="the bot's database is unavailable; retry")
        return _json(200, status="ok", group=stored.id, changed=changed)

    async def alertmanager(request: web.Request) -> web.Response:
        return await receive("alertmanager", request)

    async def grafana(request: web.Request) -> web.Response:
        return await receive("grafana", request)

    app.router.add_post("/alerts/alertmanager", alertmanager)
    app.router.add_post("/alerts/grafana", grafana)
