"""deploy/compose.yml on a Docker Swarm: `docker stack deploy` of the very file the compose test
runs, on a single-node Swarm of a private engine (tests/private_engine.py), with its 2 replicas
of the bot sharing the stack's Postgres and Redis.

One replica is killed (`docker kill`: no drain) while an incident's escalation waits: the other
answers commands, and every page goes out exactly once (the one due after the kill too).

The private engine has no iptables, hence no ingress routing mesh: the test reaches each replica
on docker_gwbridge, the bridge the host shares with every task, and the bots reach the host's
Slack emulator on that bridge's gateway. The images come from the machine's engine
(`docker save`/`load`), built by tests/deploy/images.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
import pytest_asyncio
from botproc import BOT_TOKEN, SIGNING_SECRET
from compose_stack import COMPOSE_FILE, HttpEndpoint
from e2e import answer, new_user, slash
from images import Images
from private_engine import PrivateEngine
from slack_emulator import SlackEmulator
from slack_signing import signed_headers, slash_command_body

# 30 min: on a new machine the first test builds the base image and the bot image first
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(1800)]

CTO_AFTER = 25
"""Seconds the CTO page waits: time to kill a replica before it is due."""


def ops_yml() -> str:
    return f"""\
slack:
  command: /ops
  incident_channel: C0INCIDENTS
  allowed_channels: []
locale: en
timezone: UTC
roles:
  viewer: ['*']
  operator: []
  admin: []
contacts:
  - {{role: tech_lead, name: Ana Rojas, slack: U0TECHLEAD, email: ana@example.com}}
  - {{role: devops, name: Marta Gil, slack: U0DEVOPS, email: marta@example.com, on_call: true}}
  - {{role: cto, name: Jorge Díaz, slack: U0CTO, email: jorge@example.com}}
escalation:
  sev1:
    - {{notify: devops, on_call: true}}
    - {{notify: tech_lead}}
    - {{after: {CTO_AFTER}s, unless: acknowledged, notify: cto}}
"""


@dataclass
class Replica(HttpEndpoint):
    """One bot task: its container and its address on docker_gwbridge."""

    container: str = ""


@dataclass
class Swarm:
    engine: PrivateEngine
    stack: str
    emu: SlackEmulator


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def swarm(images: Images, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Swarm]:
    workdir = tmp_path_factory.mktemp("swarm")
    workdir.chmod(0o755)
    config = workdir / "ops.yml"
    config.write_text(ops_yml(), encoding="utf-8")
    config.chmod(0o644)
    (workdir / "stack").mkdir()
    stack = f"opsbot{secrets.token_hex(3)}"
    async with PrivateEngine(swarm=True) as engine:
        await engine.load_from_machine(images.bot, images.postgres, images.redis)
        async with SlackEmulator(host=engine.gateway) as emu:
            env = {
                **engine.env,
                "OPS_BOT_IMAGE": images.bot,
                "POSTGRES_IMAGE": images.postgres,
                "REDIS_IMAGE": images.redis,
                "OPS_BOT_DB_PASSWORD": secrets.token_hex(16),
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": emu.api_url,
                "OPS_YML": str(config),
                "STACK_DIR": str(workdir / "stack"),
                "DOCKER_SOCKET": str(engine.socket),
                "DOCKER_GID": str(os.stat(engine.socket).st_gid),
            }
            await engine.docker("stack", "deploy", "--compose-file", str(COMPOSE_FILE), stack, env=env)
            try:
                yield Swarm(engine, stack, emu)
            finally:
                await print_logs(engine, stack)
                with contextlib.suppress(Exception):
                    await engine.docker("stack", "rm", stack, timeout=60)


async def print_logs(engine: PrivateEngine, stack: str) -> None:
    """Each bot task's last lines (stdout and stderr), for a failure's report."""
    with contextlib.suppress(Exception):
        label = f"label=com.docker.swarm.service.name={stack}_bot"
        for cid in (await engine.docker("ps", "-aq", "--filter", label)).split():
            done = await asyncio.to_thread(
                subprocess.run, ["docker", "logs", "--tail", "60", cid], capture_output=True, text=True,
                timeout=30, env={**os.environ, **engine.env},
            )  # fmt: skip
            print(f"--- {cid}\n{done.stdout[-6000:]}{done.stderr[-6000:]}")


async def replicas(swarm: Swarm, want: int = 2, within: float = 240.0) -> list[Replica]:
    """The bot's running task containers once `want` of them are healthy."""
    deadline = time.monotonic() + within
    seen: list[Replica] = []
    while True:
        ids = (
            await swarm.engine.docker(
                "ps", "-q", "--no-trunc", "--filter", f"label=com.docker.swarm.service.name={swarm.stack}_bot"
            )
        ).split()
        addresses = await swarm.engine.gwbridge_addresses()
        seen = [Replica(f"http://{addresses[cid]}:3000", cid) for cid in ids if cid in addresses]
        healthy = [r for r in seen if await answers(r)]
        if len(healthy) >= want and await migrated(swarm):
            return healthy
        if time.monotonic() > deadline:
            tasks = await swarm.engine.docker("service", "ps", "--no-trunc", f"{swarm.stack}_bot")
            raise AssertionError(f"{len(healthy)} of {want} replicas answer after {within}s:\n{tasks}")
        await asyncio.sleep(2)


async def migrated(swarm: Swarm) -> bool:
    """Whether the bot's schema is in the stack's Postgres. A replica that started before its
    database (a Swarm has no depends_on) says "ok" once it reaches it, but migrates only at its
    next retry (10 s): until then its commands fail (reported; not this issue's to change)."""
    label = f"label=com.docker.swarm.service.name={swarm.stack}_postgres"
    ids = (await swarm.engine.docker("ps", "-q", "--filter", label)).split()
    if not ids:
        return False
    try:
        found = await swarm.engine.docker(
            "exec", ids[0], "psql", "-U", "opsbot", "-d", "opsbot", "-Atc", "SELECT to_regclass('incidents')"
        )
    except AssertionError:
        return False
    return found.strip() == "incidents"


async def answers(replica: Replica) -> bool:
    """/healthz says "ok": serving, with its database and Redis reached (a Swarm has no
    depends_on, so a replica may be up before the stack's Postgres is)."""
    try:
        status, body, _ = await replica.request("GET", "/healthz")
    except (aiohttp.ClientError, TimeoutError):
        return False
    return status == 200 and json.loads(body).get("status") in {"ok", "busy"}


async def declare(replica: Replica, emu: SlackEmulator, title: str) -> None:
    body = slash_command_body(
        f"incident declare sev1 {title}", "U0BACKEND", "C0DEV", emu.response_url(), trigger_id=f"t.{uuid.uuid4().hex}"
    )
    status, _, _ = await replica.request("POST", "/slack/events", body, signed_headers(body, SIGNING_SECRET))
    assert status == 200


def paged(emu: SlackEmulator, user: str) -> int:
    """Pages are the DMs themselves."""
    return sum(1 for c in emu.calls("chat.postMessage") if c.args.get("channel") == f"D{user}")


async def test_the_stack_runs_two_replicas_of_the_bot(swarm: Swarm) -> None:
    spec = json.loads(await swarm.engine.docker("service", "inspect", f"{swarm.stack}_bot"))[0]["Spec"]
    assert spec["Mode"]["Replicated"]["Replicas"] == 2
    assert len(await replicas(swarm)) == 2


async def test_one_replica_killed_the_other_answers_and_every_page_goes_once(swarm: Swarm) -> None:
    emu = swarm.emu
    first, second = (await replicas(swarm))[:2]
    await declare(first, emu, "Pagos no se procesan")
    await declare(second, emu, "Checkout lento")
    await emu.wait_for(
        "chat.postMessage", count=4, timeout=30, predicate=lambda c: str(c.args["channel"]).startswith("D")
    )
    declared = time.monotonic()
    await swarm.engine.docker("kill", first.container)  # no drain: whatever it held is its lease's to tell
    sent = await slash(second, emu, "help", new_user("U0V"))
    said = await answer(emu, sent, lambda text: "/ops status" in text, timeout=30)
    assert "Traceback" not in said.text
    await emu.wait_for(
        "chat.postMessage", count=6, timeout=CTO_AFTER + 90, predicate=lambda c: str(c.args["channel"]).startswith("D")
    )
    await asyncio.sleep(max(3.0, declared + CTO_AFTER + 5 - time.monotonic()))  # a second copy would come now
    assert [paged(emu, u) for u in ("U0DEVOPS", "U0TECHLEAD", "U0CTO")] == [2, 2, 2]
