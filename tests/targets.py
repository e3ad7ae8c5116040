"""Real HTTP targets on loopback for tests: a fast endpoint, a slow one, one that never answers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def delayed(seconds: float, status: int = 200, body: str = "ok") -> Handler:
    async def handler(_: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return web.Response(status=status, text=body)

    return handler


def hangs() -> Handler:
    async def handler(_: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response(text="never")

    return handler


@dataclass
class Visit:
    """One request as the target saw it: when it arrived and when its answer was ready."""

    path: str
    arrived: float
    answered: float | None = None


@dataclass
class HttpTarget:
    runner: web.AppRunner
    url: str
    visits: list[Visit] = field(default_factory=list)

    async def close(self) -> None:
        await self.runner.cleanup()

    def ran_together(self) -> bool:
        """Every request arrived before any was answered: the caller sent them at once, not one
        after another. Read from the target's own times, so a loaded machine cannot fake it."""
        answered = [v.answered for v in self.visits if v.answered is not None]
        return (
            bool(self.visits)
            and len(answered) == len(self.visits)
            and max(v.arrived for v in self.visits) < min(answered)
        )


async def start_http_target(routes: dict[str, Handler]) -> HttpTarget:
    visits: list[Visit] = []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        visit = Visit(request.path, time.monotonic())
        visits.append(visit)
        try:
            return await handler(request)
        finally:
            visit.answered = time.monotonic()

    app = web.Application(middlewares=[record])
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return HttpTarget(runner, f"http://127.0.0.1:{port}", visits)


async def start_silent_server() -> tuple[asyncio.Server, str]:
    """Accepts TCP connections and never answers: a hung target without any firewall."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"
