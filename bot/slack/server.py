"""`ops-bot serve`: Slack's HTTP endpoint plus the bot's own liveness and metrics."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.alerts.intake import add_alert_routes
from bot.app.runtime import Runtime
from bot.app.worker import AckFirst
from bot.core.deps import Deps
from bot.slack.app import SlackBot
from bot.slack.oncall_feed import add_oncall_routes
from bot.storage.database import short_error

STORE_PING_TIMEOUT = 1.5
T = TypeVar("T")


async def store_health(deps: Deps) -> dict[str, str]:
    """Ping the bot's own Postgres and Redis, each bounded, concurrently."""

    async def probe(name: str, ping: Awaitable[Any]) -> tuple[str, str]:
        try:
            await asyncio.wait_for(ping, STORE_PING_TIMEOUT)
            return name, "ok"
        except Exception as exc:
            return name, deps.redact(short_error(exc))

    results = dict(await asyncio.gather(probe("database", deps.db.ping()), probe("redis", deps.redis.ping())))
    status = "ok" if all(v == "ok" for v in results.values()) else "degraded"
    return {"status": status, **results}


async def _here(coro: Coroutine[Any, Any, T]) -> T:
    return await coro


def build_web_app(
    runtime: Runtime,
    slack: SlackBot,
    on_worker: Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]] = _here,
    gate: AckFirst | None = None,
    events_endpoint: bool = True,
    load: Callable[[], dict[str, Any]] | None = None,
) -> web.Application:
    """`on_worker` runs a coroutine where the deps live (the worker loop in `ops-bot serve`);
    `events_endpoint=False` leaves out POST /slack/events (Socket Mode gets Slack's requests over its socket);
    `load` tells how busy the work after the ack is (the worker's lanes, bot/core/lanes.py)."""
    deps = runtime.deps

    async def slack_events(request: web.Request) -> web.Response:
        started = time.perf_counter()
        if gate is not None:
            gate.enter()
        try:
            bolt_request = await to_bolt_request(request)
            bolt_response = await slack.app.async_dispatch(bolt_request)
            response = await to_aiohttp_response(bolt_response)
        finally:
            if gate is not None:
                gate.leave()
        deps.metrics.ack_seconds.observe(time.perf_counter() - started)
        return response

    async def healthz(_: web.Request) -> web.Response:
        """Alive while the process serves; says which of its stores answer and whether it can take
        work now. 200 even when "degraded" (read-only commands still work, and a restart would not
        bring a database back) or "busy" (every short slot taken with work waiting, or the long
        lane full: a restart would drop the queued answers and the running tails, not help)."""
        body: dict[str, Any] = await on_worker(store_health(deps))
        if load is not None:
            work = load()
            if work.pop("busy") and body["status"] == "ok":
                body["status"] = "busy"
            body["work"] = work
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=deps.metrics.exposition(), headers={"Content-Type": "text/plain; version=0.0.4"})

    app = web.Application(client_max_size=1024 * 1024)
    if events_endpoint:
        app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    add_alert_routes(app, deps, on_worker)
    add_oncall_routes(app, deps, on_worker)
    return app
