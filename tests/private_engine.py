"""A private Docker engine for one test module: its own `dockerd` with its own data root, exec
root, socket and pid file under a temporary directory, never the machine's engine.

    async with PrivateEngine() as engine:           # a plain engine (no bridge, no iptables)
        await engine.docker("load", "-i", tarball)
    async with PrivateEngine(swarm=True) as engine: # a single-node Swarm manager
        await engine.docker("stack", "deploy", "-c", "deploy/compose.yml", "ops")

`engine.env` ({"DOCKER_HOST": "unix://…"}) points a `docker` or `docker compose` subprocess at
it. Nothing it does touches the host's shared state that another engine uses: no iptables
rules (`--iptables=false`), no default bridge, and in Swarm mode its own `docker_gwbridge`
(a Linux bridge named after the engine), a listen address and a data-path port picked free on
127.0.0.1. On exit everything goes: the swarm is left, the daemon stopped (TERM, then KILL),
its directory removed. The machine's engine, its images and containers are never used.

Shared with the Swarm target tests: one engine per `async with`, so modules do not interfere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
CALL_TIMEOUT = 300.0


def free_port(kind: int = socket.SOCK_STREAM, below: int = 65536) -> int:
    """A port nothing is bound to now (Swarm's data path takes only 1024-49151: `below`)."""
    for _ in range(200):
        port = 20000 + secrets.randbelow(below - 20000)
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise EngineError("no free port found")


class EngineError(AssertionError):
    """The private engine did not start, or a call to it failed (with its output)."""


class PrivateEngine:
    def __init__(self, *, swarm: bool = False, name: str | None = None) -> None:
        self.swarm = swarm
        self.name = name or f"pe{secrets.token_hex(3)}"
        # short: containerd's sockets live under the exec root, and a unix socket path has 107 bytes
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir="/tmp"))
        self.socket = self.root / "docker.sock"
        self.env = {"DOCKER_HOST": f"unix://{self.socket}"}
        self.gateway = ""
        """Swarm mode: the host's address on docker_gwbridge, which every task container can reach
        (and the host reaches them on that bridge: `gwbridge_addresses`)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = self.root / "dockerd.log"

    # ---- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> PrivateEngine:
        try:
            await asyncio.to_thread(self._start)
            if self.swarm:
                await self._init_swarm()
        except BaseException:
            await asyncio.to_thread(self._stop)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.swarm:
            with contextlib.suppress(EngineError, subprocess.TimeoutExpired):
                await self.docker("swarm", "leave", "--force", timeout=60)
        await asyncio.to_thread(self._stop)

    def _start(self) -> None:
        argv = [
            DOCKERD,
            f"--data-root={self.root / 'data'}",
            f"--exec-root={self.root / 'exec'}",
            f"--pidfile={self.root / 'docker.pid'}",
            f"--host=unix://{self.socket}",
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
            "--ip-masq=false",
        ]
        with self._log.open("wb") as log:
            # its own session: a Ctrl-C of pytest does not reach it before the cleanup does
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                raise EngineError(f"dockerd exited {self._proc.returncode}:\n{self.log_tail()}")
            probe = subprocess.run(
                ["docker", "version", "--format", "{{.Server.Version}}"],
                capture_output=True,
                env={**os.environ, **self.env},
                timeout=10,
            )
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise EngineError(f"dockerd not answering within {START_TIMEOUT}s:\n{self.log_tail()}")
            time.sleep(0.3)

    def _stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if self.swarm:  # its docker_gwbridge's Linux bridge outlives the daemon
            subprocess.run(["ip", "link", "delete", f"{self.name}gw"], capture_output=True, timeout=10)
        # containers' mounts under the data root (overlay, shm) would make rmtree fail
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
            for target in sorted((m.split()[1] for m in mounts if str(self.root) in m), reverse=True):
                subprocess.run(["umount", "-l", target], capture_output=True, timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    async def _init_swarm(self) -> None:
        # docker_gwbridge made first, so its Linux bridge has a name of this engine's (not the
        # shared default) and no masquerading; then the swarm on free loopback ports.
        # 10.20-199.x: clear of tests/private_dockerd.py's 10.200-249.x, which may run at the same time
        prefix = f"10.{secrets.randbelow(180) + 20}.{secrets.randbelow(250)}"
        subnet, self.gateway = f"{prefix}.0/24", f"{prefix}.1"
        await self.docker(
            "network", "create", "--driver", "bridge", "--subnet", subnet,
            "--opt", f"com.docker.network.bridge.name={self.name}gw",
            "--opt", "com.docker.network.bridge.enable_icc=false",
            "--opt", "com.docker.network.bridge.enable_ip_masquerade=false",
            "--gateway", self.gateway,
            "docker_gwbridge",
        )  # fmt: skip
        port = free_port()
        await self.docker(
            "swarm", "init",
            "--advertise-addr", f"127.0.0.1:{port}",
            "--listen-addr", f"127.0.0.1:{port}",
            "--data-path-port", str(free_port(socket.SOCK_DGRAM, below=49152)),
        )  # fmt: skip

    # ---- calls -------------------------------------------------------------------------------

    async def docker(self, *args: str, timeout: float = CALL_TIMEOUT, env: dict[str, str] | None = None) -> str:
        """`docker <args>` against this engine (with `env` added, e.g. a stack file's variables);
        its stdout, or EngineError with its output."""
        done = await asyncio.to_thread(
            subprocess.run,
            ["docker", *args],
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **(env or {}), **self.env},
        )
        if done.returncode != 0:
            raise EngineError(f"docker {' '.join(args[:4])}… exited {done.returncode}: {done.stderr.decode()[-2000:]}")
        return done.stdout.decode()

    async def load_from_machine(self, *images: str) -> None:
        """Copy images from the machine's engine (`docker save`, then `docker load` here): a
        private engine has no registry to pull from either."""
        tarball = self.root / "images.tar"
        saved = await asyncio.to_thread(
            subprocess.run, ["docker", "save", "-o", str(tarball), *images], capture_output=True, timeout=CALL_TIMEOUT
        )
        if saved.returncode != 0:
            raise EngineError(f"docker save {images}: {saved.stderr.decode()[-2000:]}")
        try:
            await self.docker("load", "-q", "-i", str(tarball))
        finally:
            tarball.unlink(missing_ok=True)

    async def gwbridge_addresses(self) -> dict[str, str]:
        """{container id: its IPv4 address on docker_gwbridge}: how the host reaches a Swarm task
        without the ingress routing mesh (which needs iptables)."""
        raw = await self.docker("network", "inspect", "docker_gwbridge", "--format", "{{json .Containers}}")
        containers = json.loads(raw) or {}
        return {cid: str(c["IPv4Address"]).split("/")[0] for cid, c in containers.items()}

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self._log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        return ""
