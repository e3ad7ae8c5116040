"""A Docker engine of the tests' own, in Swarm mode: never the machine's engine at /var/run/docker.sock.

Everything it owns is under one temporary directory (data root, exec root, socket, pid file),
and its network pieces have names of their own: `--bridge=none` (no docker0), no iptables
rules, and the Swarm gateway bridge (`docker_gwbridge`, which `swarm init` would otherwise
create under a fixed Linux name) made beforehand under a name and subnet of this run's. The
Swarm listens on a free loopback port and carries overlay traffic on another, so two private
engines never fight over 2377 or 4789.

`stop()` leaves the Swarm, removes that bridge, kills the daemon and its containerd, unmounts
what the engine mounted and removes the directory.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from private_redis import free_port

BUSYBOX = "opsbot/busybox:latest"
START_BOUND = 30.0


class SwarmUnavailable(RuntimeError):
    """dockerd is missing or cannot run a Swarm here: the tests that need one are skipped with this reason."""


def _run(args: list[str], timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=check)


@dataclass
class PrivateDockerd:
    root: Path
    process: subprocess.Popen[bytes]
    bridge: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def docker(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The docker CLI against this engine only (`-H`, never DOCKER_HOST of the environment)."""
        return _run(["docker", "-H", self.url, *args], timeout=timeout, check=check)

    def deploy(self, stack: str, compose_text: str) -> None:
        """`docker stack deploy` from a compose file, then wait until every service runs all its replicas."""
        path = self.root / f"{stack}.yml"
        path.write_text(compose_text, encoding="utf-8")
        self.docker("stack", "deploy", "--resolve-image", "never", "-c", str(path), stack)

    def remove_stack(self, stack: str) -> None:
        self.docker("stack", "rm", stack, check=False)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.docker("swarm", "leave", "--force", timeout=30, check=False)
        with contextlib.suppress(Exception):
            self.docker("network", "rm", "docker_gwbridge", timeout=30, check=False)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        # containerd and shims started for this engine (their command lines name our directory)
        for pid in _pids_mentioning(str(self.root)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _run(["ip", "link", "delete", self.bridge], check=False)
        for mount in reversed(_mounts_under(self.root)):
            _run(["umount", "-l", mount], check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _free_udp_port() -> int:
    """A UDP port in 20000-40000 nobody holds (Swarm's data path port must be below 49152)."""
    for _ in range(50):
        port = random.randint(20000, 40000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise SwarmUnavailable("no free UDP port for the Swarm data path")


def _pids_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def _mounts_under(root: Path) -> list[str]:
    with contextlib.suppress(OSError):
        lines = Path("/proc/self/mounts").read_text().splitlines()
        return [line.split()[1] for line in lines if line.split()[1].startswith(str(root))]
    return []


def start_private_swarm() -> PrivateDockerd:
    """Start the engine, make its gateway bridge, `swarm init`, load the busybox image."""
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        raise SwarmUnavailable("dockerd or the docker CLI is not installed")
    if os.geteuid() != 0:
        raise SwarmUnavailable("a private dockerd needs root")
    root = Path(tempfile.mkdtemp(prefix="opsbot-swarm-"))
    tag = root.name[-6:].lower()
    bridge = f"osw{tag}"[:15]
    log = (root / "dockerd.log").open("wb")
    began = time.monotonic()
    process = subprocess.Popen(
        [
            "dockerd",
            "--data-root", str(root / "data"),
            "--exec-root", str(root / "exec"),
            "-H", f"unix://{root / 'docker.sock'}",
            "--pidfile", str(root / "docker.pid"),
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    engine = PrivateDockerd(root, process, bridge)
    try:
        deadline = time.monotonic() + START_BOUND
        while engine.docker("version", check=False, timeout=10).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SwarmUnavailable(f"the private dockerd did not start (see {root / 'dockerd.log'})")
            time.sleep(0.2)
        engine.timings["dockerd"] = time.monotonic() - began
        subnet = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}.0/24"
        engine.docker(
            "network", "create", "--driver", "bridge", "--subnet", subnet,
            "-o", f"com.docker.network.bridge.name={bridge}",
            "-o", "com.docker.network.bridge.enable_icc=false",
            "-o", "com.docker.network.bridge.enable_ip_masquerade=false",
            "docker_gwbridge",
        )  # fmt: skip
        init = engine.docker(
            "swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", f"127.0.0.1:{free_port()}",
            "--data-path-port", str(_free_udp_port()), check=False,
        )  # fmt: skip
        if init.returncode != 0:
            raise SwarmUnavailable(f"docker swarm init failed: {init.stderr.strip()[:300]}")
        engine.timings["swarm_init"] = time.monotonic() - began
        machine = ["docker", "-H", "unix:///var/run/docker.sock"]  # read only: the image scripts/setup.sh built
        saved = subprocess.Popen([*machine, "save", BUSYBOX], stdout=subprocess.PIPE)
        assert saved.stdout is not None
        loaded = subprocess.run(
            ["docker", "-H", engine.url, "load"], stdin=saved.stdout, capture_output=True, timeout=60, check=False
        )
        saved.wait(30)
        if saved.returncode != 0 or loaded.returncode != 0:
            raise SwarmUnavailable(f"could not load {BUSYBOX} (run scripts/setup.sh): {loaded.stderr[:200]!r}")
        engine.timings["ready"] = time.monotonic() - began
        return engine
    except BaseException:
        engine.stop()
        raise


def wait_for_replicas(engine: PrivateDockerd, stack: str, bound: float = 60.0) -> None:
    """Until every service of the stack runs all its replicas (`docker service ls` says N/N)."""
    deadline = time.monotonic() + bound
    while True:
        listed = engine.docker("service", "ls", "--filter", f"label=com.docker.stack.namespace={stack}",
                               "--format", "{{.Name}} {{.Replicas}}").stdout.split("\n")  # fmt: skip
        counts = [line.split()[1].split("/") for line in listed if line.strip()]
        if counts and all(a == b for a, b in counts):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"stack {stack} did not converge: {listed}")
        time.sleep(0.25)


@pytest.fixture(scope="session")
def private_swarm() -> Iterator[PrivateDockerd]:
    """The session's private single-node Swarm; skipped (with the reason) only if it cannot start here."""
    try:
        engine = start_private_swarm()
    except SwarmUnavailable as exc:
        pytest.skip(f"no private Swarm engine: {exc}")
    try:
        yield engine
    finally:
        engine.stop()
