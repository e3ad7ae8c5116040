"""The image, built and run with deploy/compose.yml: the bot with its own Postgres and Redis, as a
team runs it (issue 23).

One compose project for the module (its own network, volumes and containers, removed at the
end), on the machine's engine: containers there get no outside network, but a compose network is
a plain bridge the host owns, so the host's Slack emulator listens on that bridge's gateway and
the bot's published port is reached through docker-proxy. Slack is the only emulated part;
requests are signed as Slack signs them.

Checks, in order (the last one stops the bot): /healthz healthy as uid 10001; a command answered;
the docker socket usable by that user (`/ops ps` lists the project's containers); a backup
written to the backups volume; git works in the mounted checkout; `docker stop` during a 15 s
confirmed step waits for it and records its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from botproc import BOT_TOKEN, SIGNING_SECRET, shown
from compose_stack import ComposeStack, HttpEndpoint, run
from e2e import answer, click, messages_for, new_message_ts, new_user, slash
from images import Images
from slack_emulator import SlackEmulator

# 30 min: on a new machine the first test builds the base image and the bot image first
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(1800)]

OPERATOR = new_user("U0OP")
STEP_SECONDS = 15


@dataclass
class Deployed:
    stack: ComposeStack
    bot: HttpEndpoint
    emu: SlackEmulator
    checkout: Path
    database_url: str


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("deploy")
    path.chmod(0o755)
    yield path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ops_yml(project: str) -> str:
    """The team's ops.yml: the stack is this compose project; its database is the bot's own here."""
    return f"""\
slack:
  command: /ops
  incident_channel: C0INCIDENTS
  allowed_channels: []
locale: en
timezone: UTC
stack:
  postgres:
    dsn: ${{TARGET_DATABASE_URL}}
    tenants_table: tenants
  docker:
    url: unix:///var/run/docker.sock
    compose_project: {project}
    services: [bot, postgres, redis]
    stop_timeout: 5s
  backups:
    dir: /backups
  repo: /srv/stack
  steps:
    migrate: {{cwd: /srv/stack, run: make -s migrate, timeout: 60s}}
roles:
  viewer: ['*']
  operator: ['{OPERATOR}']
  admin: []
contacts:
  - {{role: devops, name: Marta Gil, slack: U0DEVOPS, email: marta@example.com, on_call: true}}
"""


@pytest.fixture(scope="module")
def checkout(workdir: Path) -> Path:
    """The stack's checkout: a git repository owned by root (not by the bot's uid), with the
    migrate target the confirmed step runs; writable, so the step can leave its marks."""
    path = workdir / "stack"
    path.mkdir()
    (path / "Makefile").write_text(
        f".PHONY: migrate\nmigrate:\n\ttouch started\n\tsleep {STEP_SECONDS}\n\ttouch migrated\n", encoding="utf-8"
    )
    git = ["git", "-C", str(path), "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    for args in (["init", "-q"], ["add", "Makefile"], ["commit", "-q", "-m", "add the migrate target"]):
        subprocess.run([*git, *args], check=True, capture_output=True, timeout=30)
    path.chmod(0o777)
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployed(images: Images, workdir: Path, checkout: Path) -> AsyncIterator[Deployed]:
    project = f"opsbotci{secrets.token_hex(3)}"
    password = secrets.token_hex(16)
    config = workdir / "ops.yml"
    config.write_text(ops_yml(project), encoding="utf-8")
    config.chmod(0o644)
    port = free_port()
    env = {
        "OPS_BOT_IMAGE": images.bot,
        "POSTGRES_IMAGE": images.postgres,
        "REDIS_IMAGE": images.redis,
        "OPS_BOT_DB_PASSWORD": password,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "OPS_YML": str(config),
        "STACK_DIR": str(checkout),
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        "PUBLISH_PORTS": str(port),
        "TARGET_DATABASE_URL": f"postgresql://opsbot:{password}@postgres:5432/opsbot",
    }
    stack = ComposeStack(project, env)
    try:
        await stack.compose("up", "-d", "--wait", "postgres", "redis")
        gateway = await stack.network_gateway()
        async with SlackEmulator(host=gateway) as emu:
            stack.env["SLACK_API_URL"] = emu.api_url
            await stack.compose("up", "-d", "--scale", "bot=1", "bot")
            deployed = Deployed(
                stack,
                HttpEndpoint(f"http://127.0.0.1:{port}"),
                emu,
                checkout,
                f"postgresql://opsbot:{password}@postgres:5432/opsbot",
            )
            yield deployed
    finally:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            print((await stack.compose("logs", "--no-color", "--tail", "60", "bot", timeout=60))[-4000:])
        await stack.down()


async def wait_healthy(stack: ComposeStack, service: str, within: float = 120.0) -> dict[str, object]:
    deadline = time.monotonic() + within
    while True:
        state = (await stack.inspect(service))["State"]
        health = state.get("Health") or {}
        if health.get("Status") == "healthy":
            return dict(state)
        assert state["Status"] == "running", f"{service} is {state['Status']}: {state}"
        assert time.monotonic() < deadline, f"{service} not healthy within {within}s: {health}"
        await asyncio.sleep(1)


async def test_the_bot_is_healthy_as_uid_10001(deployed: Deployed) -> None:
    await wait_healthy(deployed.stack, "bot")
    assert (await deployed.stack.exec("bot", "id", "-u")).strip() == "10001"
    init = (await deployed.stack.exec("bot", "cat", "/proc/1/cmdline")).split("\0")[0]
    assert Path(init).name in {"tini", "docker-init"}, init  # an init reaps orphans; the bot is not PID 1


async def test_matplotlib_has_a_config_home(deployed: Deployed) -> None:
    """With HOME=/nonexistent it warned at every start ("created a temporary cache directory")."""
    container = await deployed.stack.container("bot")
    done = await asyncio.to_thread(
        subprocess.run,
        ["docker", "exec", container, "python3", "-c", "import matplotlib.pyplot"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "temporary cache directory" not in done.stderr, done.stderr


async def test_a_signed_command_is_answered(deployed: Deployed) -> None:
    await wait_healthy(deployed.stack, "bot")
    sent = await slash(deployed.bot, deployed.emu, "help", OPERATOR)
    assert sent.status == 200, sent
    said = await answer(deployed.emu, sent, lambda text: "/ops status" in text, timeout=30)
    assert "Traceback" not in said.text


async def test_the_docker_socket_is_usable_by_the_bots_user(deployed: Deployed) -> None:
    sent = await slash(deployed.bot, deployed.emu, "ps", OPERATOR)
    said = await answer(deployed.emu, sent, lambda text: "postgres" in text or "Docker" in text, timeout=30)
    assert "permission denied" not in said.text and "unreachable" not in said.text, said.text
    assert all(service in said.text for service in ("bot", "postgres", "redis")), said.text


async def test_a_backup_is_written_to_the_backups_volume(deployed: Deployed) -> None:
    sent = await slash(deployed.bot, deployed.emu, "db backup", OPERATOR)
    assert sent.status == 200, sent
    deadline = time.monotonic() + 120
    while not (made := re.findall(r"\S+\.sql\.gz$", await deployed.stack.exec("bot", "ls", "/backups"), re.M)):
        assert time.monotonic() < deadline, "no backup in /backups"
        await asyncio.sleep(1)
    [name] = made
    # the long operation's message (posted in the channel, then edited) names the file
    deadline = time.monotonic() + 60
    while not (told := [shown(c) for c in deployed.emu.calls() if name in shown(c) and "sha256" in shown(c)]):
        assert time.monotonic() < deadline, [shown(c) for c in deployed.emu.calls()][-3:]
        await asyncio.sleep(0.5)
    assert "fail" not in told[-1].lower(), told[-1]
    # the volume outlives the container: it is the compose project's named volume
    volume = f"{deployed.stack.project}_backups"
    mounts = (await deployed.stack.inspect("bot"))["Mounts"]
    assert any(m.get("Name") == volume and m["Destination"] == "/backups" for m in mounts), mounts


async def test_git_works_in_the_mounted_checkout(deployed: Deployed) -> None:
    """Owned by root, not by uid 10001: git's safe.directory in the image's system config."""
    sent = await slash(deployed.bot, deployed.emu, "deploy history", OPERATOR)
    said = await answer(deployed.emu, sent, lambda text: "migrate target" in text or "git" in text, timeout=30)
    assert "add the migrate target" in said.text and "dubious" not in said.text, said.text


async def test_docker_stop_during_a_confirmed_step_records_its_outcome(deployed: Deployed) -> None:
    emu, bot = deployed.emu, deployed.bot
    sent = await slash(bot, emu, "db migrate", OPERATOR)
    preview = await answer(emu, sent, lambda text: re.search(r"Confirm[\s\S]*Cancel", text) is not None, timeout=30)
    clicked = await click(bot, emu, preview.button("confirm"), OPERATOR, message_ts=new_message_ts())
    deadline = time.monotonic() + 60
    while not (deployed.checkout / "started").exists():
        assert time.monotonic() < deadline, "the step never started"
        await asyncio.sleep(0.2)
    container = await deployed.stack.container("bot")
    await deployed.stack.compose("stop", "bot", timeout=120)  # the file's stop_grace_period, as `compose down` uses
    state = (await run(["docker", "inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", container])).split()
    assert state == ["0", "false"], f"the bot was killed, not drained: {state}"
    assert (deployed.checkout / "migrated").exists(), "the step was cut by the stop"
    rows = await audit_rows_in(deployed, OPERATOR)
    assert ("db migrate", "executed", "ok") in rows, rows
    assert "done" in shown(messages_for(emu, clicked)[-1])


async def audit_rows_in(deployed: Deployed, user: str) -> list[tuple[str, str, str]]:
    """The audit rows of `user` in the compose project's Postgres (not published: read through psql).
    `user` is an id this module made (new_user), so it is safe in the SQL text."""
    out = await deployed.stack.exec(
        "postgres",
        "psql",
        "-U",
        "opsbot",
        "-d",
        "opsbot",
        "-At",
        "-F",
        "|",
        "-c",
        f"SELECT operation, decision, outcome FROM audit_log WHERE user_id = '{user}' ORDER BY id",
    )
    return [tuple(line.split("|")) for line in out.splitlines() if line]  # type: ignore[misc]
