"""`GET /oncall/<role>.ics?token=…[&user=U…]`: a rota as an iCal feed for any calendar app
(running.md). Served on `serve` and `socket` alike, beside /healthz. Anything wrong (no
`oncall.ical_token`, a wrong token, a role without a rota) is the same bare 404, so the
endpoint tells a stranger nothing, not even which roles exist."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from bot.core.deps import Deps

log = logging.getLogger(__name__)
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def add_oncall_routes(
    app: web.Application, deps: Deps, on_worker: Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]]
) -> None:
    async def feed(request: web.Request) -> web.Response:
        expected = deps.config.oncall.ical_token
        given = request.query.get("token", "")
        role = request.match_info["role"]
        store = deps.incidents.oncall
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()) or role not in store.book:
            return web.Response(status=404, text="not found")
        user = request.query.get("user")
        if user is not None and not _USER.fullmatch(user):
            return web.Response(status=400, text="user is a Slack user id (U…)")
        try:
            body: bytes = await on_worker(store.feed(role, user))
        except Exception as exc:
            log.warning("on-call feed for %s not served: %s", role, deps.redact(str(exc)))
            return web.Response(status=503, text="the bot's database is unavailable; retry")
        return web.Response(body=body, headers={"Content-Type": "text/calendar; charset=utf-8"})

    app.router.add_get("/oncall/{role}.ics", feed)
