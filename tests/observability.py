"""Real Prometheus and Alertmanager (Debian's `prometheus` and `prometheus-alertmanager`) for tests.

Each runs on a free loopback port with its own temporary directory and no clustering, so a
test's peers never meet another test's. Prometheus scrapes the test's exporter every second,
evaluates the test's rules every second and sends to the Alertmanager, which posts to
`ops-bot serve` with the bearer token, as a deployment would.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from targets import free_port

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


@dataclass
class Peer:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


async def _ready(peer: Peer, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if peer.process.poll() is not None:
                raise AssertionError(f"{peer.name} exited: {peer.output()}")
            try:
                async with session.get(peer.url + path, timeout=aiohttp.ClientTimeout(total=1)) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{peer.name} not ready within {timeout}s: {peer.output()}")


def _spawn(name: str, argv: list[str], workdir: Path, url: str) -> Peer:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    return Peer(name, url, process, workdir, log)


async def start_alertmanager(
    webhook_url: str,
    token: str,
    *,
    port: int | None = None,
    repeat: str = "3s",
    group_interval: str = "1s",
    send_resolved: bool = True,
) -> Peer:
    """An Alertmanager whose one route posts every group to `webhook_url` with `Bearer <token>`."""
    workdir = Path(tempfile.mkdtemp(prefix="opsbot-am-"))
    port = port or free_port()
    config = textwrap.dedent(
        f"""\
        route:
          receiver: opsbot
          group_by: [alertname]
          group_wait: 0s
          group_interval: {group_interval}
          repeat_interval: {repeat}
        receivers:
          - name: opsbot
            webhook_configs:
              - url: {webhook_url}
                send_resolved: {str(send_resolved).lower()}
                http_config:
                  authorization:
                    type: Bearer
                    credentials: {token}
        """
    )
    (workdir / "alertmanager.yml").write_text(config)
    argv = [
        ALERTMANAGER,
        f"--config.file={workdir / 'alertmanager.yml'}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    peer = _spawn("alertmanager", argv, workdir, f"http://127.0.0.1:{port}")
    await _ready(peer, "/-/ready")
    return peer


async def start_prometheus(scrape_target: str, alertmanager: str, rules: str, port: int | None = None) -> Peer:
    """A Prometheus scraping `scrape_target` (host:port) every second, with `rules` (a rule file's text)."""
    workdir = Path(tempfile.mkdtemp(prefix="opsbot-prom-"))
    port = port or free_port()
    (workdir / "rules.yml").write_text(rules)
    am_host = alertmanager.removeprefix("http://")
    config = textwrap.dedent(
        f"""\
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        alerting:
          alertmanagers:
            - static_configs:
                - targets: ['{am_host}']
        rule_files: [{workdir / "rules.yml"}]
        scrape_configs:
          - job_name: api
            static_configs:
              - targets: ['{scrape_target}']
        """
    )
    (workdir / "prometheus.yml").write_text(config)
    argv = [
        PROMETHEUS,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--rules.alert.resend-delay=1s",
        "--log.level=warn",
    ]
    peer = _spawn("prometheus", argv, workdir, f"http://127.0.0.1:{port}")
    await _ready(peer, "/-/ready")
    return peer


@dataclass
class Silences:
    url: str
    found: list[dict[str, Any]] = field(default_factory=list)

    async def active(self) -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/api/v2/silences") as response:
            silences: list[dict[str, Any]] = await response.json()
        return [s for s in silences if s["status"]["state"] == "active"]


async def notifications_sent(alertmanager: Peer) -> int:
    """How many webhook notifications the Alertmanager has sent (its own counter)."""
    async with aiohttp.ClientSession() as session, session.get(f"{alertmanager.url}/metrics") as response:
        text = await response.text()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("alertmanager_notifications_total") and 'integration="webhook"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)
