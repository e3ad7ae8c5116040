"""End to end in Socket Mode: the real `ops-bot socket` subprocess connects to the Slack
emulator's WebSocket, acks the envelopes it pushes, and posts results to their response_url."""

from __future__ import annotations

import json
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from botproc import APP_TOKEN, BOT_TOKEN, BotLauncher, BotProcess, bot_env, posted, run_bot, shown
from conftest import base_config
from slack_emulator import SOCKET_CONNECT, SlackEmulator
from slack_signing import block_actions_payload, slash_command_payload

pytestmark = pytest.mark.timeout(60)

CHANNEL = "C0OPS"


def new_viewer() -> str:
    return "U0V" + secrets.token_hex(4).upper()


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(
    tmp_path: Path,
    emu: SlackEmulator,
    write_config: Callable[[str], Path],
    bot_db_url: str,
    redis_prefix: str,
) -> AsyncIterator[BotProcess]:
    """A running `ops-bot socket`, connected to the emulator."""
    async with BotLauncher(tmp_path) as launcher:
        process = await launcher.socket(
            write_config(base_config()), emu.api_url, bot_db_url, extra_env={"REDIS_PREFIX": redis_prefix}
        )
        await emu.socket_connected(timeout=5)
        yield process


async def test_it_opens_the_socket_with_the_app_token_and_calls_the_web_api_with_the_bot_token(
    bot: BotProcess, emu: SlackEmulator
) -> None:
    [opened] = emu.calls("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert emu.calls(SOCKET_CONNECT)
    [auth] = await emu.wait_for("auth.test")
    assert auth.token == BOT_TOKEN


async def test_a_slash_command_envelope_is_acked_within_a_second_and_answered(
    bot: BotProcess, emu: SlackEmulator
) -> None:
    response_url = emu.response_url()

    envelope = await emu.socket_send(
        "slash_commands", slash_command_payload("contacts", new_viewer(), CHANNEL, response_url)
    )

    ack = await emu.socket_wait_ack(envelope, timeout=3)
    assert ack.elapsed < 1.0, f"ack took {ack.elapsed:.3f}s"
    assert "Running `/ops contacts`" in str((ack.payload or {}).get("text"))
    [call] = await posted(emu, response_url)
    assert call.args["response_type"] == "in_channel"
    assert "Ana Rojas" in shown(call) and "Marta Gil" in shown(call)


async def test_a_button_click_envelope_runs_the_buttons_command(bot: BotProcess, emu: SlackEmulator) -> None:
    response_url = emu.response_url()
    payload = block_actions_payload("ops_run:0", "/ops contacts", new_viewer(), CHANNEL, response_url)

    envelope = await emu.socket_send("interactive", payload)

    ack = await emu.socket_wait_ack(envelope, timeout=3)
    assert ack.elapsed < 1.0, f"ack took {ack.elapsed:.3f}s"
    [call] = await posted(emu, response_url)
    assert "Contacts" in shown(call) and "Ana Rojas" in shown(call)


async def test_an_admin_only_click_by_a_viewer_is_refused_over_the_socket(bot: BotProcess, emu: SlackEmulator) -> None:
    response_url = emu.response_url()
    payload = block_actions_payload("ops_run:0", "/ops audit 3", new_viewer(), CHANNEL, response_url)

    await emu.socket_send("interactive", payload)

    [call] = await posted(emu, response_url)
    assert call.args["response_type"] == "ephemeral"
    assert "`/ops audit` needs the *admin* role" in shown(call)


async def test_socket_mode_without_an_app_token_says_so_and_exits_2(
    tmp_path: Path, emu: SlackEmulator, write_config: Callable[[str], Path], bot_db_url: str
) -> None:
    env = bot_env(write_config(base_config()), emu.api_url, bot_db_url)

    done = await run_bot(["socket"], env, cwd=tmp_path)

    assert done.returncode == 2
    assert "SLACK_APP_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
    assert emu.calls() == []


# ---- the process around the socket: HTTP side, refusals, outages, shutdown (issue 17.12)


@pytest.fixture
def socket_config(write_config: Callable[[str], Path]) -> Path:
    return write_config(base_config())


async def test_socket_mode_serves_healthz_and_metrics_on_host_port_but_not_slack_events(
    bot: BotProcess, emu: SlackEmulator
) -> None:
    status, body = await bot.get("/healthz")
    assert status == 200
    health = json.loads(body)
    assert {k: health[k] for k in ("status", "database", "redis")} == {"status": "ok", "database": "ok", "redis": "ok"}
    work = health["work"]  # the work lanes are reported in Socket Mode too (a start-up task may be queued)
    assert isinstance(work["queued"], int) and work["queued"] >= 0
    assert work["short"]["slots"] > 0 and work["long"]["slots"] > 0 and work["long"]["per_user"] > 0
    status, body = await bot.get("/metrics")
    assert status == 200 and "# TYPE" in body
    status, _, _ = await bot.request("POST", "/slack/events", "{}")
    assert status == 404, "Slack's requests come over the socket in Socket Mode"


@pytest.mark.parametrize(
    ("app_token", "refusal"),
    [(APP_TOKEN, "invalid_auth"), (BOT_TOKEN, "not_allowed_token_type")],
    ids=["revoked app token", "bot token in SLACK_APP_TOKEN"],
)
async def test_a_token_slack_refuses_is_named_in_one_line_and_the_bot_exits_1(
    tmp_path: Path, emu: SlackEmulator, socket_config: Path, bot_db_url: str, app_token: str, refusal: str
) -> None:
    if refusal == "invalid_auth":
        emu.set_response("apps.connections.open", {"ok": False, "error": "invalid_auth"})
    env = bot_env(socket_config, emu.api_url, bot_db_url, app_token=app_token)

    done = await run_bot(["socket", "--host", "127.0.0.1", "--port", "0"], env, cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    [line] = [line for line in done.stderr.splitlines() if "Socket Mode connection" in line]
    assert refusal in line and "SLACK_APP_TOKEN" in line and "xapp-" in line and "connections:write" in line
    assert "Traceback" not in done.stderr
    assert app_token not in done.stdout + done.stderr
    assert len(emu.calls("apps.connections.open")) == 1, "a refused token is not retried"


async def test_slack_answering_500_is_retried_with_backoff_and_one_line_each_then_connects(
    tmp_path: Path, emu: SlackEmulator, socket_config: Path, bot_db_url: str
) -> None:
    emu.fail("apps.connections.open", times=2, status=500)
    async with BotLauncher(tmp_path) as launcher:
        bot = await launcher.socket(socket_config, emu.api_url, bot_db_url)
        await emu.socket_connected(timeout=5)
        opened = emu.calls("apps.connections.open")
    assert len(opened) == 3
    retries = [line for line in bot.stderr().splitlines() if "apps.connections.open failed" in line]
    assert len(retries) == 2 and all("internal_error" in line for line in retries), bot.stderr()
    assert [re.search(r"retrying in (\S+)s", line)[1] for line in retries] == ["1", "2"]  # type: ignore[index]
    assert "Traceback" not in bot.stderr()


async def test_slack_unreachable_at_start_is_retried_until_it_answers(
    tmp_path: Path, socket_config: Path, bot_db_url: str
) -> None:
    with socket.socket() as probe:  # a port nothing listens on yet: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with BotLauncher(tmp_path) as launcher:
        bot = await launcher.socket(socket_config, f"http://127.0.0.1:{port}/api/", bot_db_url, connected=False)
        await bot.wait_for_output("apps.connections.open failed", 10, stream="stderr")
        async with SlackEmulator(port=port) as emu:
            await bot.wait_for_output("connected in Socket Mode", 15)
            await emu.socket_connected(timeout=5)
            assert (await bot.get("/healthz"))[0] == 200
        assert await bot.stop() == 0
    assert "ClientConnectorError" in bot.stderr() and "Traceback" not in bot.stderr()


async def test_sigterm_while_still_connecting_is_a_clean_exit(
    tmp_path: Path, emu: SlackEmulator, socket_config: Path, bot_db_url: str
) -> None:
    emu.fail("apps.connections.open", times=50, status=503)
    async with BotLauncher(tmp_path) as launcher:
        bot = await launcher.socket(socket_config, emu.api_url, bot_db_url, connected=False)
        await bot.wait_for_output("apps.connections.open failed", 10, stream="stderr")
        assert await bot.stop(timeout=8) == 0, bot.output()
    assert "connected in Socket Mode" not in bot.stdout()
    assert "Traceback" not in bot.stderr()


async def test_shutdown_does_not_wait_for_slack_to_answer_the_close(
    tmp_path: Path, emu: SlackEmulator, socket_config: Path, bot_db_url: str
) -> None:
    """aiohttp waits 10 s for the peer's close frame: all of Docker's stop grace. The bot exits
    by itself well inside it (stop() SIGKILLs after 8 s, which would give -9)."""
    emu.socket_ignores_close = True
    async with BotLauncher(tmp_path) as launcher:
        bot = await launcher.socket(socket_config, emu.api_url, bot_db_url)
        await emu.socket_connected(timeout=5)
        assert await bot.stop(timeout=8) == 0, bot.output()
    assert "did not answer the close" in bot.stderr()
    assert "Traceback" not in bot.stderr()


async def test_a_port_already_taken_is_one_line_and_exit_1(
    tmp_path: Path, emu: SlackEmulator, socket_config: Path, bot_db_url: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = bot_env(socket_config, emu.api_url, bot_db_url, app_token=APP_TOKEN)
        done = await run_bot(["socket", "--host", "127.0.0.1", "--port", str(port)], env, cwd=tmp_path)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    assert emu.calls("apps.connections.open") == []
