"""A real redis-server of one's own, on a free port, for tests and benchmarks that must
FLUSHALL or fill the key space: the shared Redis on 6379 belongs to everyone else."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import redis


def free_port() -> int:
    """A loopback port nobody listens on right now (also the way to get a closed port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateRedis:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_private_redis(attempts: int = 3) -> PrivateRedis:
    """Start `redis-server` without persistence on a free port and wait until it answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    for _ in range(attempts):
        port = free_port()
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = PrivateRedis(port, process)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(redis.RedisError):
                client = server.client()
                try:
                    if client.ping():
                        return server
                finally:
                    client.close()
            time.sleep(0.02)
        server.stop()  # the port was taken meanwhile, or the server did not come up: try another
    raise RuntimeError("could not start a private redis-server")
