"""Real HTTP targets on loopback for tests: a fast endpoint, a slow one, one that never answers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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
class HttpTarget:
    runner: web.AppRunner
    url: str

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_http_target(routes: dict[str, Handler]) -> HttpTarget:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return HttpTarget(runner, f"http://127.0.0.1:{port}")


async def start_silent_server() -> tuple[asyncio.Server, str]:
    """Accepts TCP connections and never answers: a hung target without any firewall."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"
