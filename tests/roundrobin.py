"""A round-robin HTTP load balancer on loopback, in front of several `ops-bot serve` replicas.

Each request goes to the next replica in turn, body and headers untouched (Slack's
signature covers the body), and `served` records which replica took it, so a test can
show that a confirmation was made on one replica and clicked on another.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

_HOP = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class RoundRobin:
    backends: list[str]
    served: list[str] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    async def start(self) -> RoundRobin:
        turn = itertools.cycle(self.backends)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

        async def forward(request: web.Request) -> web.Response:
            backend = next(turn)
            self.served.append(backend)
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
            assert self._session is not None
            async with self._session.request(
                request.method, backend + request.path_qs, data=await request.read(), headers=headers
            ) as answer:
                body = await answer.read()
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
                return web.Response(status=answer.status, body=body, headers=kept)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def request(
        self, method: str, path: str, data: str | bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, str, float]:
        """(status, body, seconds) of one request through the balancer, like `BotProcess.request`."""
        assert self._session is not None
        started = time.perf_counter()
        async with self._session.request(method, self.url + path, data=data, headers=dict(headers or {})) as answer:
            return answer.status, await answer.text(), time.perf_counter() - started

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
