"""Parts of the system that a test can really stop, hang and bring back on the same address.

* `RedisPart`: a private redis-server; stop = the process is terminated, hang = SIGSTOP (the
  kernel still accepts connections, nothing ever answers), back = SIGCONT or a new server on
  the same port (empty: Redis here has no persistence).
* `PostgresPart`: a private Postgres cluster; stop = `pg_ctl stop`, hang = SIGSTOP of the
  postmaster and every backend, back = SIGCONT or `pg_ctl start` on the same port and data.
* `DockerSocket`: the path ops.yml's `stack.docker.url` names; missing = stopped engine, an
  asyncio unix server that accepts and never answers = hung engine, a byte-for-byte proxy to
  the real engine's socket = the engine is back.
* `HttpPart`: one loopback port; a server that accepts and never answers (hung), nothing
  (stopped), a real aiohttp app answering /health (back).

No firewall rules and no fakes of the protocol: the bot talks to the real thing each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis
from aiohttp import web
from private_postgres import PrivatePostgres, _as_server_user, start_private_postgres
from private_redis import free_port

DOCKER_SOCKET = "/var/run/docker.sock"


class RedisPart:
    def __init__(self, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_timeout=2)

    def start(self) -> None:
        """A new redis-server on this part's port, answering PING before this returns."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if self.password:
            argv += ["--requirepass", self.password]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(redis.RedisError):
                client = self.client()
                try:
                    if client.ping():
                        return
                finally:
                    client.close()
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(5)

    def hang(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


class PostgresPart:
    def __init__(self) -> None:
        server = start_private_postgres()
        assert server is not None, "cannot start a private Postgres on this machine"
        self.server: PrivatePostgres = server
        self._stopped: list[int] = []

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        auth = f"postgres:{password}" if password else "postgres"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        data = str(self.server.home / "data")
        subprocess.run(
            _as_server_user([str(self.server.bindir / "pg_ctl"), "-D", data, *args]),
            capture_output=True,
            check=True,
            timeout=60,
        )

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.server.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-w", "-l", str(self.server.home / "log"), "start")

    def _postmaster(self) -> int:
        return int((self.server.home / "data" / "postmaster.pid").read_text().split()[0])

    def hang(self) -> None:
        """SIGSTOP the postmaster (new connections wait forever) and every backend (queries too)."""
        postmaster = self._postmaster()
        self._stopped = [postmaster, *_children(postmaster)]
        for pid in reversed(self._stopped):
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self._stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._stopped = []

    def close(self) -> None:
        self.resume()
        self.server.stop()


class DockerSocket:
    """A unix socket path for `stack.docker.url` whose engine can be missing, hung or real."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "docker.sock"
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._held:
                writer.close()
            self._held.clear()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def hang(self) -> None:
        await self.stop()

        async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._held.append(writer)

        self._server = await asyncio.start_unix_server(accept, str(self.path))

    async def real(self) -> None:
        """Forward every connection to the real engine, byte for byte."""
        await self.stop()

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            with contextlib.suppress(OSError):
                writer.close()

        async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            engine_reader, engine_writer = await asyncio.open_unix_connection(DOCKER_SOCKET)
            self._held.extend([writer, engine_writer])
            await asyncio.gather(pipe(reader, engine_writer), pipe(engine_reader, writer))

        self._server = await asyncio.start_unix_server(forward, str(self.path))


class HttpPart:
    """One loopback port whose HTTP server can be hung, absent or answering."""

    def __init__(self) -> None:
        self.port = free_port()
        self._silent: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._silent is not None:
            self._silent.close()
            for writer in self._held:
                writer.close()
            self._held.clear()
            self._silent = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def hang(self) -> None:
        await self.stop()

        async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._held.append(writer)

        self._silent = await asyncio.start_server(accept, "127.0.0.1", self.port, reuse_address=True)

    async def real(self) -> None:
        await self.stop()

        async def health(_: web.Request) -> web.Response:
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/health", health)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()
